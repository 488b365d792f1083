/**
 * Running functions: the "Run on ESP32-P4" command (context menu, CodeLens, palette), Rerun Last,
 * Upload, Call Loaded Function, Free. Arguments are asked per parameter, checked as they are typed
 * with the same parser the call uses, and remembered per function.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import * as vscode from 'vscode';

import { JitSession } from '../session/jit-session.js';
import type { CallResult, LoadedFunction } from '../session/types.js';
import { pairedLength, parseArgument } from '../../toolchain/args.js';
import { CompileError } from '../../toolchain/build.js';
import { findFunction, formatSignature, functionAt, parseFunctions, SignatureError, type FunctionSignature } from '../../toolchain/signature.js';
import type { DeviceManager } from './device-manager.js';
import { callHeadline, describeCall, PREVIEW_ITEMS } from '../session/format.js';
import type { SourceDiagnostics } from './results.js';
import { errorMessage } from '../util/errors.js';

export interface RunTarget {
  file: string;
  name: string;
}

interface LastRun extends RunTarget {
  args: string[];
}

const LAST_RUN_KEY = 'p4jit.lastRun';
const SHOW_IN_PANEL = 'Show in Panel';
const UNDO = 'Undo';
const argsKey = (key: string) => `p4jit.args:${key}`;

export class Runner {
  /** The argument being asked for now, and how many were asked in all (read by the integration tests). */
  prompting: { function: string; param: string; index: number } | undefined;
  prompts = 0;
  private readonly reported = new vscode.EventEmitter<CallResult>();
  /** Fires with the result of every call the user started (the panel reveals itself on the first). */
  readonly onDidReport = this.reported.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly device: DeviceManager,
    private readonly diagnostics: SourceDiagnostics,
    private readonly output: vscode.OutputChannel,
  ) {}

  /**
   * Runs a function: from the CodeLens (uri, name), from the context menu or palette (the function
   * at the cursor), or programmatically with its arguments (then nothing is asked).
   */
  async run(uri?: vscode.Uri, name?: string, args?: string[]): Promise<CallResult | undefined> {
    const target = await this.target(uri, name);
    if (!target) return undefined;
    const sig = await this.signature(target);
    if (!sig) return undefined;
    // Where it runs is asked first (when it must be), then it is built: a compile error is
    // reported before the user types any argument.
    const built = await this.withDevice(`building ${target.name}`, (session) => session.build(target.file, target.name), target.file);
    if (!built) return undefined;
    args ??= await this.askArguments(sig, JitSession.key(target.file, target.name));
    if (!args) return undefined;
    // From the palette or the context menu (no CodeLens next to the eye): a notification too.
    return this.runWith({ ...target, args }, !uri);
  }

  async rerunLast(): Promise<CallResult | undefined> {
    const last = this.context.workspaceState.get<LastRun>(LAST_RUN_KEY);
    if (!last) {
      void vscode.window.showInformationMessage('P4-JIT: nothing was run yet. Right-click inside a C function and choose "Run on ESP32-P4".');
      return undefined;
    }
    return this.runWith(last);
  }

  /** Builds and loads without calling. */
  async upload(uri?: vscode.Uri, name?: string): Promise<LoadedFunction | undefined> {
    const target = await this.target(uri, name);
    if (!target || !(await this.signature(target))) return undefined;
    return this.withDevice(`uploading ${target.name}`, async (session) => {
      const fn = await session.load(target.file, target.name);
      this.diagnostics.clearCompileErrors(fn.file);
      this.output.appendLine(`Loaded ${fn.name} at 0x${fn.addr.toString(16)} (${fn.size} bytes)`);
      vscode.window.setStatusBarMessage(`$(check) ${fn.name} loaded at 0x${fn.addr.toString(16)}`, 5000);
      return fn;
    }, target.file);
  }

  /** Calls a loaded function (picked from the loaded ones unless `key` is given). */
  async exec(key?: string, args?: string[]): Promise<CallResult | undefined> {
    const fn = key ? this.device.loadedFunctions().find((f) => f.key === key) : await this.pickLoaded('Call which loaded function?');
    if (!fn) {
      // unloaded or freed since the panel showed it: say so rather than do nothing
      if (key) void vscode.window.showWarningMessage(`P4-JIT: ${JitSession.nameOf(key)} is not loaded any more; run it from its file to load it again.`);
      return undefined;
    }
    args ??= await this.askArguments(fn.signature, fn.key);
    if (!args) return undefined;
    const run = { file: fn.file, name: fn.name, args };
    // A function from a device that is gone is built and loaded again first: never call a dead address.
    const notify = !key; // picked in the palette rather than run from the panel
    if (fn.stale) return this.runWith(run, notify);
    await this.remember(run);
    // A function whose source changed since it was loaded is rebuilt first (the session checks,
    // under the device lock): never called as it was, and refused when the source does not build.
    return this.withDevice(`calling ${fn.name}`, async (session) => {
      try {
        return this.report(fn.key, await session.call(fn.key, args, { rebuild: true }), run, notify);
      } catch (e) {
        if (e instanceof CompileError) {
          throw new CompileError(`${fn.name} was not called: its source changed since it was loaded and does not build now (${e.message})`, e.diagnostics);
        }
        throw e;
      }
    }, fn.file);
  }

  async free(key?: string): Promise<void> {
    const fn = key ? this.device.loadedFunctions().find((f) => f.key === key) : await this.pickLoaded('Free which loaded function?');
    if (!fn) {
      // unloaded since the view showed it: nothing is left to free, and the user hears so
      if (key) void vscode.window.showInformationMessage(`P4-JIT: ${JitSession.nameOf(key)} is already unloaded.`);
      return;
    }
    // A stale function is only forgotten: its device is gone or no longer holds it.
    const session = this.device.lastSession;
    if (session) await this.device.exclusive(() => session.free(fn.key));
    this.output.appendLine(`Freed ${fn.name}`);
    this.offerUndo(`unloaded ${fn.name}`, [fn]);
  }

  async freeAll(): Promise<void> {
    const session = this.device.lastSession;
    const fns = this.device.loadedFunctions();
    if (session) await this.device.exclusive(() => session.freeAll());
    this.output.appendLine('Freed all loaded functions');
    this.offerUndo(`freed ${fns.length === 1 ? fns[0].name : `${fns.length} loaded functions`}`, fns);
  }

  /** A loaded function chosen by the user. */
  async pickLoaded(title: string, liveOnly = false): Promise<LoadedFunction | undefined> {
    const fns = this.device.loadedFunctions().filter((f) => !liveOnly || !f.stale);
    if (!fns.length) {
      void vscode.window.showInformationMessage('P4-JIT: no function is loaded. Use "Run on ESP32-P4" or "Upload Function" first.');
      return undefined;
    }
    const items = fns.map((f) => ({
      label: f.name,
      description: `${basename(f.file)}${f.stale ? ' (stale: reloaded when called)' : ` at 0x${f.addr.toString(16)}`}`,
      detail: formatSignature(f.signature),
      fn: f,
    }));
    return (await vscode.window.showQuickPick(items, { title: `P4-JIT: ${title}`, matchOnDescription: true }))?.fn;
  }

  // ---- internals ----

  private async runWith(run: LastRun, notify = false): Promise<CallResult | undefined> {
    const key = JitSession.key(run.file, run.name);
    await this.remember(run);
    return this.withDevice(`running ${run.name}`, async (session) => this.report(key, await session.run(run.file, run.name, run.args), run, notify), run.file);
  }

  /** For Rerun Last, and to prefill the prompts of this function next time. */
  private async remember(run: LastRun): Promise<void> {
    await this.context.workspaceState.update(LAST_RUN_KEY, run);
    await this.context.workspaceState.update(argsKey(JitSession.key(run.file, run.name)), run.args);
  }

  private report(key: string, result: CallResult, run: LastRun, notify: boolean): CallResult {
    this.diagnostics.clearCompileErrors(run.file);
    this.diagnostics.showCall(key, result);
    this.output.appendLine(describeCall(result, { maxItems: PREVIEW_ITEMS, cutHint: 'all of it: P4-JIT: Copy or Save Result Array' }));
    if (result.fault) {
      this.output.show(true);
      void vscode.window.showErrorMessage(`P4-JIT: ${result.fault.message}`);
    } else {
      vscode.window.setStatusBarMessage(`$(check) ${callHeadline(result)}`, 10_000);
      if (notify) {
        void vscode.window.showInformationMessage(`P4-JIT: ${callHeadline(result)}`, SHOW_IN_PANEL).then((choice) => {
          if (choice) void vscode.commands.executeCommand('p4jit.openPanel');
        });
      }
    }
    this.reported.fire(result);
    return result;
  }

  /** Unloading is one click: the notification offers to load the same functions again. */
  private offerUndo(what: string, fns: LoadedFunction[]): void {
    if (!fns.length) return;
    void vscode.window.showInformationMessage(`P4-JIT: ${what}.`, UNDO).then(async (choice) => {
      if (choice !== UNDO) return;
      // One function that cannot come back (its file was deleted) does not keep the others away.
      const missing = fns.filter((fn) => !existsSync(fn.file));
      for (const fn of fns) if (!missing.includes(fn)) await this.upload(vscode.Uri.file(fn.file), fn.name);
      if (missing.length) {
        const names = missing.map((fn) => `${fn.name} (${basename(fn.file)})`).join(', ');
        void vscode.window.showWarningMessage(`P4-JIT: could not load again: ${names}; the source file no longer exists.`);
      }
    });
  }

  /**
   * Connects when needed, then does `work` under the device lock with progress in the status bar.
   * Errors become one notification; a compiler error also lands on its source lines.
   */
  private async withDevice<T>(what: string, work: (session: JitSession) => Promise<T>, file?: string): Promise<T | undefined> {
    try {
      const session = await this.device.ensureSession();
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: `P4-JIT: ${what}` },
        () => this.device.exclusive(() => work(session)));
    } catch (e) {
      if (e instanceof vscode.CancellationError) return undefined;
      if (e instanceof CompileError && file) {
        this.output.appendLine(`Building failed (${what}):\n${e.diagnostics.trimEnd()}`);
        const placed = this.diagnostics.showCompileErrors(file, e.diagnostics);
        // Not awaited: the command is done; the notification stays until the user dismisses it.
        void vscode.window.showErrorMessage(`P4-JIT: ${e.message}`, placed ? 'Show Problems' : 'Show Output').then((choice) => {
          if (choice === 'Show Problems') void vscode.commands.executeCommand('workbench.actions.view.problems');
          if (choice === 'Show Output') this.output.show(true);
        });
        return undefined;
      }
      const message = errorMessage(e);
      this.output.appendLine(`Error while ${what}${file ? ` (${basename(file)})` : ''}: ${message}`);
      void vscode.window.showErrorMessage(`P4-JIT: ${message}`);
      return undefined;
    }
  }

  /** The function to run: given, or the one around the cursor of the active C/C++ editor. */
  private async target(uri?: vscode.Uri, name?: string): Promise<RunTarget | undefined> {
    const editor = vscode.window.activeTextEditor;
    const doc = uri ? await vscode.workspace.openTextDocument(uri) : editor?.document;
    if (!doc || !['c', 'cpp'].includes(doc.languageId) || doc.uri.scheme !== 'file') {
      void vscode.window.showWarningMessage('P4-JIT: open a C or C++ file and put the cursor inside a function to run it.');
      return undefined;
    }
    // The build reads the file from disk: what is on screen must be what runs.
    if (doc.isDirty) await doc.save();
    if (name) return { file: doc.uri.fsPath, name };
    const line = (editor && editor.document === doc ? editor.selection.active.line : 0) + 1;
    try {
      const fn = await functionAt(doc.getText(), line, doc.uri.fsPath);
      return { file: doc.uri.fsPath, name: fn.name };
    } catch (e) {
      // Outside any function: the user picks one of the file's functions.
      if (e instanceof SignatureError && e.code === 'no-function-at-line') return this.pickFunction(doc);
      void vscode.window.showWarningMessage(`P4-JIT: ${(e as Error).message}`);
      return undefined;
    }
  }

  private async pickFunction(doc: vscode.TextDocument): Promise<RunTarget | undefined> {
    const all = await parseFunctions(doc.getText(), doc.uri.fsPath);
    const callable = all.filter((f) => !f.problem);
    if (!callable.length) {
      const why = all.length ? ` (${all.map((f) => `${f.name}: ${f.problem?.reason}`).join('; ')})` : '';
      void vscode.window.showWarningMessage(`P4-JIT: ${basename(doc.uri.fsPath)} has no function that can be run${why}.`);
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      callable.map((f) => ({ label: f.name, description: `line ${f.startLine}`, detail: formatSignature(f) })),
      { title: `P4-JIT: Run which function of ${basename(doc.uri.fsPath)}?`, placeHolder: 'The cursor is outside any function: pick one' });
    return picked && { file: doc.uri.fsPath, name: picked.label };
  }

  private async signature(target: RunTarget): Promise<FunctionSignature | undefined> {
    try {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(target.file));
      return await findFunction(doc.getText(), target.name, target.file);
    } catch (e) {
      void vscode.window.showErrorMessage(`P4-JIT: ${(e as Error).message}`);
      return undefined;
    }
  }

  /**
   * One input box per parameter, prefilled with the last values used for this function, or for a
   * length that follows an array (`float *x, int n`) with the length of the array just given.
   */
  private async askArguments(sig: FunctionSignature, key: string): Promise<string[] | undefined> {
    const previous = this.context.workspaceState.get<string[]>(argsKey(key)) ?? [];
    const args: string[] = [];
    for (const [i, param] of sig.params.entries()) {
      const hint = param.type.kind === 'ptr'
        ? `a list such as [1, 2, 3] or [0]*64, a generator such as sine(4096, 440, 48000) or range(64), a file @data.npy${['u8', 'i8'].includes(param.type.pointee?.kind ?? '') ? ', a string such as "text"' : ''}, @address or null`
        : `a ${param.type.text} value`;
      const length = pairedLength(sig.params, i, args);
      this.prompting = { function: sig.name, param: param.name, index: i };
      this.prompts++;
      const value = await vscode.window.showInputBox({
        title: `${formatSignature(sig)}  (${i + 1}/${sig.params.length})`,
        prompt: `${param.name}: ${param.type.text} (${length !== undefined ? `the length of ${sig.params[i - 1].name}, ${length}, is filled in` : hint})`,
        placeHolder: param.name,
        value: length ?? previous[i] ?? '',
        ignoreFocusOut: true,
        validateInput: (text) => {
          try {
            parseArgument(text, param);
            return undefined;
          } catch (e) {
            return (e as Error).message;
          }
        },
      }).then((v) => {
        this.prompting = undefined;
        return v;
      });
      if (value === undefined) return undefined;
      args.push(value);
    }
    return args;
  }
}
