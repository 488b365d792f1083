/**
 * "▶ Run on ESP32-P4" above every function that can be called through the wrapper, and the last
 * result of a loaded function next to it. Functions that cannot be called get no lens (the reason
 * is given when one is run from the context menu).
 */
import * as vscode from 'vscode';

import { measurementParts } from '../session/format.js';
import { JitSession } from '../session/jit-session.js';
import { parseFunctions, type FunctionSignature } from '../../toolchain/signature.js';
import { readConfig } from './config.js';
import type { DeviceManager } from './device-manager.js';

export const RUN_LENS_TITLE = '▶ Run on ESP32-P4';

export class RunCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  /** Parsed functions per document version: lenses are asked for often, parsing is not free. */
  private readonly cache = new WeakMap<vscode.TextDocument, { version: number; functions: FunctionSignature[] }>();
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly device: DeviceManager) {
    this.subscriptions = [
      device.onDidChange(() => this.changed.fire()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('p4jit.codeLens.enabled')) this.changed.fire();
      }),
    ];
  }

  async provideCodeLenses(doc: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    if (doc.uri.scheme !== 'file' || !readConfig(doc.uri).codeLensEnabled) return [];
    const loaded = new Map(this.device.loadedFunctions().map((f) => [f.key, f]));
    const lenses: vscode.CodeLens[] = [];
    for (const fn of await this.functions(doc)) {
      if (fn.problem) continue;
      const range = new vscode.Range(fn.startLine - 1, 0, fn.startLine - 1, 0);
      lenses.push(new vscode.CodeLens(range, {
        title: RUN_LENS_TITLE,
        tooltip: `Compile ${fn.name}, load it on the ESP32-P4 and call it`,
        command: 'p4jit.runFunction',
        arguments: [doc.uri, fn.name],
      }));
      const result = loaded.get(JitSession.key(doc.uri.fsPath, fn.name))?.lastResult;
      if (result) {
        const measured = measurementParts(result).map((m) => ` · ${m}`).join('');
        lenses.push(new vscode.CodeLens(range, {
          title: result.fault ? `$(error) ${result.fault.kind}` : `returned ${result.returnDisplay}${measured}`,
          tooltip: result.fault?.message ?? 'The last result; open the device panel for all of them',
          command: 'p4jit.openPanel',
        }));
      }
    }
    return lenses;
  }

  private async functions(doc: vscode.TextDocument): Promise<FunctionSignature[]> {
    const hit = this.cache.get(doc);
    if (hit?.version === doc.version) return hit.functions;
    let functions: FunctionSignature[] = [];
    try {
      functions = await parseFunctions(doc.getText(), doc.uri.fsPath);
    } catch {
      // a parser failure must not break the editor; the file simply gets no lenses
    }
    this.cache.set(doc, { version: doc.version, functions });
    return functions;
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.changed.dispose();
  }
}
