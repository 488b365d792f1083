/**
 * Reads the code cells of a Jupyter notebook (.ipynb, nbformat 4) as the kernel runs them, for
 * running a notebook outside VS Code (a test, a CI job). A cell's language is the one VS Code
 * stores in its metadata (`vscode.languageId`), else the notebook's language.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { InputError } from '../../toolchain/errors.js';

export interface NotebookCode {
  id: string;
  /** 1-based position among all cells, as VS Code shows it. */
  label: string;
  language: string;
  source: string;
}

export function readNotebookCode(path: string): NotebookCode[] {
  const name = basename(path);
  let nb: { cells?: unknown; metadata?: { language_info?: { name?: string }; kernelspec?: { language?: string } }; nbformat?: number };
  try {
    nb = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new InputError(`${name} is not a readable notebook: ${(e as Error).message}`);
  }
  if (nb.nbformat !== 4 || !Array.isArray(nb.cells)) throw new InputError(`${name} is not an nbformat 4 notebook (it has no 'cells' list)`);
  const fallback = nb.metadata?.language_info?.name ?? nb.metadata?.kernelspec?.language ?? 'javascript';
  return (nb.cells as { cell_type: string; id?: string; source: string | string[]; metadata?: { vscode?: { languageId?: string } } }[])
    .map((cell, i) => ({ cell, label: String(i + 1) }))
    .filter(({ cell }) => cell.cell_type === 'code')
    .map(({ cell, label }) => ({
      id: cell.id ?? `cell-${label}`,
      label,
      language: cell.metadata?.vscode?.languageId ?? fallback,
      source: Array.isArray(cell.source) ? cell.source.join('') : cell.source,
    }));
}
