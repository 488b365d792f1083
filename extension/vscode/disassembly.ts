/**
 * Disassembly of a loaded function as a read-only virtual document, p4jit-disasm:/<name>.S?<key>,
 * in the RISC-V assembly language this extension contributes (syntaxes/): the user's function(s)
 * first with their source lines, the generated entry wrapper last, folded.
 */
import * as vscode from 'vscode';

import { JitSession } from '../session/jit-session.js';
import type { LoadedFunction } from '../session/types.js';
import { FOLD_START } from '../../toolchain/disasm-view.js';
import type { DeviceManager } from './device-manager.js';

export const DISASSEMBLY_SCHEME = 'p4jit-disasm';
export const ASM_LANGUAGE = 'riscv-asm';

export class DisassemblyProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly device: DeviceManager) {}

  static uriFor(key: string, name: string): vscode.Uri {
    return vscode.Uri.from({ scheme: DISASSEMBLY_SCHEME, path: `/${name}.S`, query: key });
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const key = uri.query;
    const session = this.device.current;
    const fn = session?.loaded().find((f) => f.key === key);
    if (!session || !fn) {
      return `# ${JitSession.nameOf(key)} is not loaded on a connected device: run or upload it, then open its disassembly again.\n`;
    }
    const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(fn.file));
    return session.disassembly(key, folder?.uri.fsPath);
  }
}

/** Opens the disassembly of `fn` as RISC-V assembly, with the generated wrapper folded. */
export async function showDisassembly(fn: LoadedFunction): Promise<vscode.TextEditor> {
  let doc = await vscode.workspace.openTextDocument(DisassemblyProvider.uriFor(fn.key, fn.name));
  if (doc.languageId !== ASM_LANGUAGE) doc = await vscode.languages.setTextDocumentLanguage(doc, ASM_LANGUAGE);
  const editor = await vscode.window.showTextDocument(doc, { preview: true });
  const region = doc.getText().split('\n').findIndex((l) => l.startsWith(FOLD_START));
  if (region >= 0) {
    // the folding ranges come from the language configuration's markers, computed after opening
    await vscode.commands.executeCommand('editor.fold', { selectionLines: [region], levels: 1 });
  }
  return editor;
}
