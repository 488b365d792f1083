/**
 * How results and errors reach the user outside the panel: lines in the "P4-JIT" output channel,
 * and diagnostics on the source (a fault on its faulting line, compiler errors on theirs).
 */
import { resolve } from 'node:path';
import * as vscode from 'vscode';

import type { CallResult } from '../session/types.js';

/**
 * GCC's "file:line:col: error: message" lines. The same expression is the `$p4jit-gcc` problem
 * matcher in package.json, so a build in a task and a build for a run report identically.
 */
export const GCC_DIAGNOSTIC = /^\.?\.?(.*?):(\d+):(\d*):?\s+(?:fatal\s+)?(warning|error):\s+(.*)$/;

export interface CompilerMessage {
  file: string;
  line: number;
  column: number | undefined;
  severity: 'warning' | 'error';
  message: string;
}

export function parseCompilerOutput(text: string): CompilerMessage[] {
  const out: CompilerMessage[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = GCC_DIAGNOSTIC.exec(line);
    if (m) out.push({ file: m[1], line: Number(m[2]), column: m[3] ? Number(m[3]) : undefined, severity: m[4] as 'warning' | 'error', message: m[5] });
  }
  return out;
}

/** Diagnostics P4-JIT puts on sources: a fault on its line, compile errors of a run. */
export class SourceDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('p4jit');
  /** Per function key: the fault diagnostic it left, if any. */
  private readonly faults = new Map<string, { uri: vscode.Uri; diagnostic: vscode.Diagnostic }>();
  /** Per file path: compiler diagnostics on it, and the files whose builds reported them. */
  private readonly compile = new Map<string, { builds: Set<string>; diagnostics: vscode.Diagnostic[] }>();

  /** After a call of `key`: its fault on the faulting line, or nothing when it ran cleanly. */
  showCall(key: string, r: CallResult): void {
    this.clearFault(key);
    const f = r.fault;
    if (!f?.file || !f.line) return;
    const uri = vscode.Uri.file(f.file);
    const line = Math.max(0, f.line - 1);
    const diagnostic = new vscode.Diagnostic(new vscode.Range(line, 0, line, Number.MAX_SAFE_INTEGER),
      `${r.function}: ${f.message}`, vscode.DiagnosticSeverity.Error);
    diagnostic.source = 'P4-JIT';
    diagnostic.code = f.kind;
    this.faults.set(key, { uri, diagnostic });
    this.render(uri);
  }

  /**
   * A failed build of `file` (for a run or a reload): each GCC message on its line, replacing what
   * an earlier build of that file reported. The only place compile errors reach Problems, so each
   * is there once.
   */
  showCompileErrors(file: string, output: string): number {
    this.clearCompileErrors(file);
    const built = resolve(file);
    let count = 0;
    for (const m of parseCompilerOutput(output)) {
      const line = Math.max(0, m.line - 1);
      const col = Math.max(0, (m.column ?? 1) - 1);
      const d = new vscode.Diagnostic(new vscode.Range(line, col, line, m.column ? col + 1 : Number.MAX_SAFE_INTEGER), m.message,
        m.severity === 'error' ? vscode.DiagnosticSeverity.Error : vscode.DiagnosticSeverity.Warning);
      d.source = 'gcc';
      const target = resolve(m.file);
      const list = this.compile.get(target) ?? { builds: new Set<string>(), diagnostics: [] };
      list.builds.add(built);
      list.diagnostics.push(d);
      this.compile.set(target, list);
      this.render(vscode.Uri.file(target));
      count++;
    }
    return count;
  }

  /** Drops the compiler diagnostics of builds of `file` (or of all builds). */
  clearCompileErrors(file?: string): void {
    const built = file && resolve(file);
    for (const [target, entry] of [...this.compile]) {
      if (built && !entry.builds.has(built)) continue;
      this.compile.delete(target);
      this.render(vscode.Uri.file(target));
    }
  }

  /** The source changed: its fault markers point at old code. */
  clearFaults(uri: vscode.Uri): void {
    for (const [key, entry] of this.faults) if (entry.uri.fsPath === uri.fsPath) this.faults.delete(key);
    this.render(uri);
  }

  clearFault(key: string): void {
    const old = this.faults.get(key);
    if (!old) return;
    this.faults.delete(key);
    this.render(old.uri);
  }

  private render(uri: vscode.Uri): void {
    const faults = [...this.faults.values()].filter((e) => e.uri.fsPath === uri.fsPath).map((e) => e.diagnostic);
    this.collection.set(uri, [...(this.compile.get(uri.fsPath)?.diagnostics ?? []), ...faults]);
  }

  dispose(): void {
    this.collection.dispose();
  }
}
