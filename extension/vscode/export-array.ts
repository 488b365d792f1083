/**
 * "Copy or Save Result Array": the whole of an array a call copied back (views show the first
 * values only), copied as text or saved as .npy, .csv or .json. Reached from the palette (the
 * recent calls' arrays are offered) and from the panel's "Copy or Save…" beside each array.
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';

import { arrayFile, type ArrayFormat } from '../session/export.js';
import { callText, formatResultArray } from '../session/format.js';
import type { CallResult } from '../session/types.js';
import { P4JitError } from '../util/errors.js';

type Action = { label: string; format: ArrayFormat | 'copy' };

const ACTIONS: Action[] = [
  { label: 'Copy to Clipboard', format: 'copy' },
  { label: 'Save as .npy (NumPy)', format: 'npy' },
  { label: 'Save as .csv', format: 'csv' },
  { label: 'Save as .json', format: 'json' },
];

export class ArrayExporter {
  /** What is being asked now (read by the integration tests, like Runner.prompting). */
  asking: 'action' | 'file' | undefined;
  /** What the last export did (read by the integration tests). */
  last: { name: string; format: Action['format']; path?: string; text?: string } | undefined;

  constructor(private readonly history: () => readonly CallResult[], private readonly log: (line: string) => void) {}

  /** Exports array `name` of `result`; whatever is not given is asked. */
  async run(result?: CallResult, name?: string): Promise<void> {
    const picked = result && name ? { result, name } : await this.pickArray(result);
    if (!picked) return;
    const kind = picked.result.kinds.arrays[picked.name];
    const values = picked.result.arrays[picked.name];
    if (!kind || !values) throw new P4JitError(`${picked.result.function} returned no array named ${picked.name}`);
    const action = await this.ask('action', () => vscode.window.showQuickPick(ACTIONS, {
      title: `P4-JIT: ${picked.name} of ${picked.result.function} (${values.length} values)`,
      placeHolder: 'Copy or save all values',
    }));
    if (!action) return;
    if (action.format === 'copy') {
      const text = formatResultArray(picked.result, picked.name);
      await vscode.env.clipboard.writeText(text);
      this.last = { name: picked.name, format: 'copy', text };
      vscode.window.setStatusBarMessage(`$(check) ${values.length} values of ${picked.name} copied`, 5000);
      return;
    }
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? dirname(picked.result.file);
    const format = action.format;
    const target = await this.ask('file', () => vscode.window.showSaveDialog({
      title: `Save ${picked.name} as .${format}`,
      defaultUri: vscode.Uri.file(join(folder, `${picked.result.function}_${picked.name}.${format}`)),
      filters: { [format.toUpperCase()]: [format] },
    }));
    if (!target) return;
    await writeFile(target.fsPath, arrayFile(action.format, picked.name, kind, values));
    this.last = { name: picked.name, format: action.format, path: target.fsPath };
    this.log(`Saved ${values.length} values of ${picked.name} (${picked.result.function}) to ${target.fsPath}`);
    vscode.window.setStatusBarMessage(`$(check) ${picked.name} saved to ${target.fsPath}`, 5000);
  }

  private async ask<T>(what: 'action' | 'file', question: () => Thenable<T>): Promise<T> {
    this.asking = what;
    try {
      return await question();
    } finally {
      this.asking = undefined;
    }
  }

  /** An array of `result`, or of the recent calls, chosen by the user. */
  private async pickArray(result?: CallResult): Promise<{ result: CallResult; name: string } | undefined> {
    const calls = result ? [result] : this.history();
    const items = calls.flatMap((r) => Object.entries(r.arrays).map(([name, values]) => ({
      label: name,
      description: `${values.length} values, from ${callText(r)}`,
      detail: formatResultArray(r, name, 8),
      result: r,
      name,
    })));
    if (!items.length) {
      void vscode.window.showInformationMessage('P4-JIT: no recent call copied an array back (arrays behind non-const pointers are).');
      return undefined;
    }
    const item = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { title: 'P4-JIT: Copy or save which array?', matchOnDescription: true });
    return item && { result: item.result, name: item.name };
  }
}
