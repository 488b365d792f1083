/**
 * Hot reload. A `p4jit` task ({file, function}) builds a function and loads it on the device in a
 * pseudoterminal that shows GCC's output, so the `$p4jit-gcc` problem matcher puts errors in the
 * Problems view. Saving a file whose functions are loaded runs that task for each of them; the
 * next call uses the new code.
 */
import { basename, dirname, resolve } from 'node:path';
import * as vscode from 'vscode';

import type { LoadedFunction } from '../session/types.js';
import { CompileError } from '../../toolchain/build.js';
import { readConfig } from './config.js';
import type { DeviceManager } from './device-manager.js';
import type { SourceDiagnostics } from './results.js';

export const TASK_TYPE = 'p4jit';
export const PROBLEM_MATCHER = '$p4jit-gcc';

export interface LoadTaskDefinition extends vscode.TaskDefinition {
  type: typeof TASK_TYPE;
  file: string;
  function: string;
}

export interface ReloadOutcome {
  key: string;
  ok: boolean;
  /** The loaded function after the reload (undefined when it failed). */
  loaded?: LoadedFunction;
  error?: string;
}

const crlf = (text: string) => text.replace(/\r?\n/g, '\r\n');
const MATCHER_GRACE_MS = 1000;

export class LoadTaskProvider implements vscode.TaskProvider, vscode.Disposable {
  private readonly reloaded = new vscode.EventEmitter<ReloadOutcome>();
  /** Fires when a load task finishes. */
  readonly onDidReload = this.reloaded.event;
  /** Keys whose task is running, and whether another save came in meanwhile. */
  private readonly running = new Map<string, { again: boolean }>();
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

  /** "Run Task" lists a load task for every function loaded now. */
  provideTasks(): vscode.Task[] {
    return this.device.loadedFunctions().map((f) => this.task({ type: TASK_TYPE, file: f.file, function: f.name }));
  }

  /** A p4jit task written in tasks.json. */
  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const d = task.definition;
    if (typeof d.file !== 'string' || typeof d.function !== 'string') return undefined;
    const file = vscode.workspace.workspaceFolders?.length && !d.file.startsWith('/')
      ? resolve(vscode.workspace.workspaceFolders[0].uri.fsPath, d.file) : d.file;
    return this.task({ type: TASK_TYPE, file, function: d.function }, task.definition);
  }

  task(def: LoadTaskDefinition, original: vscode.TaskDefinition = def): vscode.Task {
    // The file's folder as scope, so the problem matcher's ${workspaceFolder} resolves.
    const scope = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(def.file)) ?? vscode.TaskScope.Workspace;
    const task = new vscode.Task(original, scope, `load ${def.function} (${basename(def.file)})`, 'P4-JIT',
      new vscode.CustomExecution(async () => new LoadTerminal(def, this.device, (outcome) => this.finished(def, outcome))),
      PROBLEM_MATCHER);
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
    const affected = session.loaded().filter((f) => !f.stale &&
      (f.file === path || (config.linkFolderSources && dirname(f.file) === dirname(path))));
    for (const f of affected) this.reload({ type: TASK_TYPE, file: f.file, function: f.name });
  }

  private reload(def: LoadTaskDefinition): void {
    const key = keyOf(def);
    const state = this.running.get(key);
    if (state) {
      state.again = true; // saved again while building: build once more when this one ends
      return;
    }
    this.running.set(key, { again: false });
    this.diagnostics.clearCompileErrors(def.file); // the task's problem matcher reports from now on
    vscode.tasks.executeTask(this.task(def)).then(undefined, (e: Error) => {
      this.running.delete(key);
      this.log(`Could not start the load task for ${def.function}: ${e.message}`);
    });
  }

  private finished(def: LoadTaskDefinition, outcome: ReloadOutcome): void {
    const state = this.running.get(outcome.key);
    this.running.delete(outcome.key);
    this.log(outcome.ok ? `Reloaded ${def.function} after a change to ${basename(def.file)}` : `Reloading ${def.function} failed: ${outcome.error}`);
    this.reloaded.fire(outcome);
    // Let VS Code retire the finished task before the same task is started again.
    if (state?.again) setTimeout(() => this.reload(def), 0);
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.reloaded.dispose();
  }
}

const keyOf = (def: LoadTaskDefinition) => `${resolve(def.file)}::${def.function}`;

/** The task's terminal: builds and loads, writing what GCC said. */
class LoadTerminal implements vscode.Pseudoterminal {
  private readonly written = new vscode.EventEmitter<string>();
  private readonly closed = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.written.event;
  readonly onDidClose = this.closed.event;

  constructor(
    private readonly def: LoadTaskDefinition,
    private readonly device: DeviceManager,
    private readonly done: (outcome: ReloadOutcome) => void,
  ) {}

  open(): void {
    void this.run();
  }

  close(): void {
    // nothing to stop: a load is short and leaves the device consistent either way
  }

  private async run(): Promise<void> {
    const { file, function: name } = this.def;
    const key = keyOf(this.def);
    this.written.fire(crlf(`P4-JIT: building ${name} from ${file}\n`));
    try {
      const session = await this.device.ensureSession();
      const fn = await this.device.exclusive(() => session.load(file, name));
      this.written.fire(crlf(`Loaded ${name} at 0x${fn.addr.toString(16)} (${fn.size} bytes)\n`));
      this.done({ key, ok: true, loaded: fn });
      this.closed.fire(0);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      // GCC's own lines, unchanged, are what the problem matcher reads.
      this.written.fire(crlf(e instanceof CompileError ? `${e.diagnostics.trimEnd()}\n` : `P4-JIT: ${message}\n`));
      this.written.fire(crlf(`Loading ${name} failed.\n`));
      // The problem matcher reads lines as the terminal renders them and stops at exit: an exit
      // right after the write would lose GCC's lines, so give the terminal time to take them in.
      await new Promise((r) => setTimeout(r, MATCHER_GRACE_MS));
      this.done({ key, ok: false, error: message });
      this.closed.fire(1);
    }
  }
}
