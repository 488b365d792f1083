// Shared by the integration tests: the extension's API, workspace files, answering argument prompts.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';

import type { CallResult } from '../../../extension/session/types.js';
import type { P4JitApi } from '../../../extension/vscode/extension.js';
import * as ui from '../harness/ui-bridge.js';

export const EXTENSION_ID = 'p4-jit.p4-jit';
export { ui };

export async function p4jit(): Promise<P4JitApi> {
  const ext = vscode.extensions.getExtension<P4JitApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is installed`);
  return ext.activate();
}

export function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the test workspace is open');
  return folder.uri.fsPath;
}

export const workspaceUri = (rel: string) => vscode.Uri.file(join(workspaceRoot(), rel));

/** 1-based number of the first line of a workspace file holding `marker`. */
export function lineOf(rel: string, marker: string): number {
  const index = readFileSync(workspaceUri(rel).fsPath, 'utf8').split('\n').findIndex((l) => l.includes(marker));
  assert.ok(index >= 0, `${rel} contains ${marker}`);
  return index + 1;
}

/** Opens a workspace file with the cursor on the first line holding `marker`. */
export async function openAt(rel: string, marker?: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(workspaceUri(rel));
  const editor = await vscode.window.showTextDocument(doc);
  if (marker) {
    const line = lineOf(rel, marker) - 1;
    editor.selection = new vscode.Selection(line, 4, line, 4);
  }
  return editor;
}

/**
 * Files a test writes into a folder of its own under the workspace's scratch/ (so one suite's
 * cleanup never removes files another suite's pending reload still reads), removed by cleanup().
 */
export class Scratch {
  private readonly dir: string;

  constructor(readonly folder = '') {
    this.dir = join(workspaceRoot(), 'scratch', folder);
  }

  write(name: string, text: string): vscode.Uri {
    mkdirSync(this.dir, { recursive: true });
    const path = join(this.dir, name);
    writeFileSync(path, text);
    return vscode.Uri.file(path);
  }

  async cleanup(): Promise<void> {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Saves `doc` as Ctrl+S does, until it is saved. Under load, code-server's file watcher can report
 * the previous save late and VS Code then re-reads the file while the next save starts, which makes
 * that save return false with the edit still unsaved; a user's Ctrl+S would be pressed again, and so
 * is this one (what was saved is checked on disk).
 */
export async function saveDocument(doc: vscode.TextDocument): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (await doc.save() || !doc.isDirty) break;
    if (attempt === 5) assert.fail(`${doc.fileName} could not be saved (5 attempts)`);
    console.log(`[test] save ${attempt} of ${doc.fileName} returned false; saving again`);
  }
  assert.equal(readFileSync(doc.fileName, 'utf8'), doc.getText(), 'what is on disk is what the editor shows');
}

/**
 * Answers the argument prompts of a run the way a user does: waits until the input box for each
 * argument is up, selects what it holds, types the value and presses Enter.
 */
export async function answerPrompts(api: P4JitApi, values: string[]): Promise<void> {
  for (const [index, value] of values.entries()) {
    await until(() => api.runner.prompting?.index === index, `the prompt for argument ${index}`, 60_000);
    await ui.pressKeys('Control+a');
    await ui.typeText(value);
    await ui.pressKeys('Enter');
  }
}

/** Polls until `check` gives a value (UI actions take effect asynchronously), and returns it. */
export async function until<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, timeoutMs = 10_000): Promise<T> {
  return (await ui.waitFor(check, what, timeoutMs)) as T;
}

/** Waits for a call of `fn` newer than `previous` (the newest call before the action). */
export async function nextCall(api: P4JitApi, fn: string, previous: CallResult | undefined): Promise<CallResult> {
  return until(() => {
    const newest = api.device.history()[0];
    return newest && newest !== previous && newest.function === fn ? newest : undefined;
  }, `a call of ${fn}`, 120_000);
}

export function diagnosticsOf(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri);
}

/** Kills the emulator's QEMU process the way a crash would (its supervisor then exits too). */
export function killQemu(api: P4JitApi): void {
  const pid = api.device.emulatorPid;
  assert.ok(pid, 'an emulator is running');
  const qemu = execFileSync('pgrep', ['-P', String(pid), 'qemu-system']).toString().trim().split('\n')[0];
  assert.ok(qemu, 'the emulator has a QEMU process');
  process.kill(Number(qemu), 'SIGKILL');
}
