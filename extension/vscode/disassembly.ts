/**
 * Disassembly of a loaded function (objdump with the source interleaved) as a read-only virtual
 * document: p4jit-disasm:/<name>.S?<function key>.
 */
import * as vscode from 'vscode';

import type { DeviceManager } from './device-manager.js';

export const DISASSEMBLY_SCHEME = 'p4jit-disasm';

export class DisassemblyProvider implements vscode.TextDocumentContentProvider {
  constructor(private readonly device: DeviceManager) {}

  static uriFor(key: string, name: string): vscode.Uri {
    return vscode.Uri.from({ scheme: DISASSEMBLY_SCHEME, path: `/${name}.S`, query: key });
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const key = uri.query;
    const session = this.device.current;
    if (!session?.loaded().some((f) => f.key === key)) {
      return `; ${key.replace(/.*::/, '')} is not loaded on a connected device: run or upload it, then open its disassembly again.\n`;
    }
    return session.disassembly(key);
  }
}
