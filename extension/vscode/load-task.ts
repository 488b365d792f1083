/**
 * Hot reload. Saving a file whose functions are loaded rebuilds and reloads every one of them, in
 * one run of the `p4jit` task for that file: GCC's messages in its terminal, errors in Problems
 * (once: the diagnostics come from this code, not from a problem matcher). A save during a reload
 * supersedes it: the running reload stops before its next function and a new one reloads all the
 * file's functions. Each build and load has a time limit, so a reload always ends with a message,
 * and the reload never waits on the terminal VS Code shows it in.
 */
import { basename, dirname, resolve } from 'node:path';
import * as vscode from 'vscode';

import type { LoadedFunction } from '../session/types.js';
import { CompileError } from '../../toolchain/build.js';
import { readConfig } from './config.js';
import type { DeviceManager } from './device-manager.js';
import { parseCompilerOutput, type SourceDiagnostics } from './results.js';
import { errorMessage, P4JitError } from '../util/errors.js';

export const TASK_TYPE = 'p4jit';

export interface LoadTaskDefinition extends vscode.TaskDefinition {
  type: typeof TASK_TYPE;
  file: string;
  /** Also load this function when it is not loaded yet; the file's loaded ones are reloaded anyway. */
  function?: string;
}

export interface ReloadOutcome {
  file: string;
  /** Every function was rebuilt and reloaded. */
  ok: boolean;
  /** A newer save took over before this reload was done (the newer one reloads everything). */
  superseded: boolean;
  loaded: LoadedFunction[];
  failed: { name: string; error: string }[];
}

/** The longest a function's build and load may take in a reload (its wait for the device included). */
export const RELOAD_STEP_LIMIT_MS = 120_000;
/** How long the task's terminal may take to end after its reload did, before it is terminated. */
const TASK_END_GRACE_MS = 10_000;

const crlf = (text: string) => text.replace(/\r?\n/g, '\r\n');

/** Rejects with `message` when `work` takes longer than `ms` (the work itself goes on). */
function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new P4JitError(message)), ms)));
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

/** One reload of a file's functions, and what it wrote, for the terminal that shows it. */
class ReloadRun {
  readonly text: string[] = [];
  private readonly wrote = new vscode.EventEmitter<string>();
  readonly onDidWrite = this.wrote.event;
  readonly abort = new AbortController();
  started = false;
  readonly done: Promise<ReloadOutcome>;
  private settle!: (o: ReloadOutcome) => void;

  constructor(readonly file: string, readonly extra: ReadonlySet<string>) {
    this.done = new Promise((r) => (this.settle = r));
  }

  write(text: string): void {
    const t = crlf(text);
    this.text.push(t);
    this.wrote.fire(t);
  }

  finish(outcome: ReloadOutcome): void {
    this.settle(outcome);
    this.wrote.dispose();
  }
}

export class LoadTaskProvider implements vscode.TaskProvider, vscode.Disposable {
  private readonly reloaded = new vscode.EventEmitter<ReloadOutcome>();
  /** Fires when a reload of a file ends (done, failed or superseded). */
  readonly onDidReload = this.reloaded.event;
  /** The newest reload of each file, until it ends. */
  private readonly latest = new Map<string, ReloadRun>();
  /** Per file, the task showing a reload: one at a time, in the order of the saves. */
  private readonly shown = new Map<string, Promise<void>>();
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly device: DeviceManager,
    private readonly diagnostics: SourceDiagnostics,
    private readonly log: (line: string) => void,
  ) {
    this.subscriptions = [
      vscode.tasks.registerTaskProvider(TASK_TYPE, this),
      vscode.workspace.onDidSaveTextDocument((doc) => this.onSave(doc)),
    ];
  }

  /** The reload of `file` under way, if any (a call may wait for it). */
  pending(file: string): Promise<ReloadOutcome> | undefined {
    return this.latest.get(resolve(file))?.done;
  }

  /** "Run Task" lists a reload task for every file with loaded functions. */
  provideTasks(): vscode.Task[] {
    const files = new Set(this.device.loadedFunctions().map((f) => f.file));
    return [...files].map((file) => this.task({ type: TASK_TYPE, file }));
  }

  /** A p4jit task written in tasks.json. */
  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const d = task.definition;
    if (typeof d.file !== 'string' || (d.function !== undefined && typeof d.function !== 'string')) return undefined;
    const file = vscode.workspace.workspaceFolders?.length && !d.file.startsWith('/')
      ? resolve(vscode.workspace.workspaceFolders[0].uri.fsPath, d.file) : d.file;
    return this.task({ type: TASK_TYPE, file, function: d.function }, task.definition);
  }

  /** The task for a file; started by a user it reloads the file, started by a save it shows that save's reload. */
  task(def: LoadTaskDefinition, original: vscode.TaskDefinition = def, run?: ReloadRun): vscode.Task {
    const scope = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(def.file)) ?? vscode.TaskScope.Workspace;
    const task = new vscode.Task(original, scope, `reload ${basename(def.file)}`, 'P4-JIT',
      new vscode.CustomExecution(async () => new ReloadTerminal(() => run ?? this.request(resolve(def.file), def.function))));
    task.group = vscode.TaskGroup.Build;
    task.presentationOptions = { reveal: vscode.TaskRevealKind.Silent, clear: true, showReuseMessage: false, echo: false };
    return task;
  }

  private onSave(doc: vscode.TextDocument): void {
    if (doc.uri.scheme !== 'file') return;
    const path = doc.uri.fsPath;
    this.diagnostics.clearFaults(doc.uri); // they point at code that has just changed
    const config = readConfig(doc.uri);
    if (!config.compileOnSave) return;
    const session = this.device.current;
    if (!session) return; // no device: stale functions are reloaded on their next run
    // With folder linking, any source of the folder goes into the function's build.
    const files = new Set(session.loaded().filter((f) => !f.stale &&
      (f.file === path || (config.linkFolderSources && dirname(f.file) === dirname(path)))).map((f) => f.file));
    for (const file of files) this.show(this.request(file));
  }

  /** Starts a reload of `file` (all its loaded functions, and `name`), superseding the one under way. */
  private request(file: string, name?: string): ReloadRun {
    const previous = this.latest.get(file);
    previous?.abort.abort();
    const run = new ReloadRun(file, new Set([...(previous?.extra ?? []), ...(name ? [name] : [])]));
    this.latest.set(file, run);
    // the superseded one stops at its next step; then this one reloads everything
    void (previous?.done ?? Promise.resolve()).then(() => this.reload(run));
    return run;
  }

  private async reload(run: ReloadRun): Promise<void> {
    const { file } = run;
    const loaded: LoadedFunction[] = [];
    const failed: ReloadOutcome['failed'] = [];
    let names: string[] = [];
    try {
      if (run.abort.signal.aborted) return;
      run.started = true;
      const session = this.device.current ?? await this.device.ensureSession();
      names = [...new Set([...session.loaded().filter((f) => f.file === file && !f.stale).map((f) => f.name), ...run.extra])];
      run.write(`P4-JIT: rebuilding ${names.join(', ')} from ${file}\n`);
      for (const [i, name] of names.entries()) {
        if (run.abort.signal.aborted) return;
        try {
          const fn = await withTimeout(
            this.device.exclusive(async () => (run.abort.signal.aborted ? undefined : session.load(file, name))),
            RELOAD_STEP_LIMIT_MS, `building and loading ${name} took more than ${RELOAD_STEP_LIMIT_MS / 1000} s; gave up`);
          if (!fn) return; // superseded while waiting for the device
          loaded.push(fn);
          run.write(`Loaded ${name} at 0x${fn.addr.toString(16)} (${fn.size} bytes${fn.allocSize > fn.size ? ` in a ${fn.allocSize}-byte slot, room to grow` : ''})\n`);
        } catch (e) {
          failed.push({ name, error: errorMessage(e) });
          if (!(e instanceof CompileError)) {
            run.write(`P4-JIT: ${name}: ${errorMessage(e)}\n`);
            continue;
          }
          run.write(`${e.diagnostics.trimEnd()}\n`);
          this.diagnostics.showCompileErrors(file, e.diagnostics);
          // Each function's build compiles the whole file: an error in it fails them all alike.
          if (parseCompilerOutput(e.diagnostics).some((m) => m.severity === 'error' && resolve(m.file) === file)) {
            for (const rest of names.slice(i + 1)) failed.push({ name: rest, error: `${basename(file)} does not compile` });
            break;
          }
        }
      }
      if (!failed.length) this.diagnostics.clearCompileErrors(file);
    } catch (e) {
      failed.push({ name: names.join(', ') || basename(file), error: errorMessage(e) });
      run.write(`P4-JIT: ${errorMessage(e)}\n`);
    } finally {
      this.finish(run, names, loaded, failed);
    }
  }

  private finish(run: ReloadRun, names: string[], loaded: LoadedFunction[], failed: ReloadOutcome['failed']): void {
    const superseded = run.abort.signal.aborted && (!run.started || loaded.length + failed.length < names.length);
    const outcome: ReloadOutcome = { file: run.file, ok: !superseded && !failed.length, superseded, loaded, failed };
    const what = basename(run.file);
    const summary = superseded ? `A newer save of ${what} took over this reload.`
      : outcome.ok ? `Reloaded ${loaded.map((f) => f.name).join(', ')}.`
      : `Not reloaded: ${failed.map((f) => f.name).join(', ')}. Until ${what} builds again they are not called: a call rebuilds them first.`;
    if (run.started) run.write(`${summary}\n`);
    if (this.latest.get(run.file) === run) this.latest.delete(run.file);
    if (run.started) this.log(`Reload of ${what}: ${summary}`);
    run.finish(outcome);
    this.reloaded.fire(outcome);
  }

  /** Shows a save's reload in a task run, after the task of the previous save of that file ended. */
  private show(run: ReloadRun): void {
    const next = (this.shown.get(run.file) ?? Promise.resolve()).then(() => this.showTask(run));
    this.shown.set(run.file, next);
    void next.finally(() => {
      if (this.shown.get(run.file) === next) this.shown.delete(run.file);
    });
  }

  private async showTask(run: ReloadRun): Promise<void> {
    // superseded before it began: the newer save's task shows the reload
    if (run.abort.signal.aborted && !run.started) return;
    let sub: vscode.Disposable | undefined;
    const ended = new Promise<void>((resolveEnd) => {
      sub = vscode.tasks.onDidEndTask((e) => {
        if (e.execution.task.definition.type === TASK_TYPE && e.execution.task.definition.file === run.file) resolveEnd();
      });
    });
    // bounded by the reload, which is bounded: the chain of tasks never stops on one VS Code did not run
    const late = run.done.then(() => new Promise<'late'>((r) => setTimeout(() => r('late'), TASK_END_GRACE_MS)));
    try {
      const execution = await Promise.race([vscode.tasks.executeTask(this.task({ type: TASK_TYPE, file: run.file }, undefined, run)), late]);
      if (execution === 'late') return;
      if ((await Promise.race([ended, late])) === 'late') {
        this.log(`The task of the reload of ${basename(run.file)} did not end with it; stopped it.`);
        execution.terminate();
      }
    } catch (e) {
      this.log(`Could not show the reload of ${basename(run.file)} in a task: ${errorMessage(e)}`);
    } finally {
      sub?.dispose();
    }
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.reloaded.dispose();
  }
}

/** The task's terminal: shows a reload's output (from its start) and ends with it. */
class ReloadTerminal implements vscode.Pseudoterminal {
  private readonly written = new vscode.EventEmitter<string>();
  private readonly closed = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.written.event;
  readonly onDidClose = this.closed.event;

  constructor(private readonly run: () => ReloadRun) {}

  open(): void {
    const run = this.run();
    for (const text of run.text) this.written.fire(text);
    const sub = run.onDidWrite((text) => this.written.fire(text));
    void run.done.then((o) => {
      sub.dispose();
      this.closed.fire(o.ok ? 0 : 1);
    });
  }

  close(): void {
    // the terminal was closed: the reload goes on (it is bounded) and reports in the output channel
  }
}
