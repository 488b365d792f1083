/**
 * Runs the compiler and the linker from a small long-lived process of our own. Starting a program
 * forks the process that asks, and the fork's cost grows with that process's memory: from VS
 * Code's extension host (hundreds of MB) it holds the host's main thread — every extension —
 * for several milliseconds, twice per save. From the runner (about 40 MB, started once) the
 * start costs what it costs from a shell, and the extension host is never held.
 *
 * Until the runner has started, or if it cannot start or dies, programs are started directly:
 * a save never waits on the runner.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { runTool, TOOL_TIME_LIMIT_MS, type ToolResult } from './run-tool.js';
import type { ToolRequest } from './tool-runner-child.js';

interface Runner {
  child: ChildProcess;
  ready: boolean;
  /** Settles true when the runner answers, false when it ended first. */
  started: Promise<boolean>;
  pending: Map<number, (r: ToolResult | null) => void>;
}

let runner: Runner | null = null;
let nextId = 0;

/** The runner's script: beside the bundle in the packaged extension, beside this file in the compiled sources. */
function childScript(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  return [join(here, 'tool-runner.cjs'), join(here, 'tool-runner-child.js')].find((f) => existsSync(f));
}

/**
 * Starts the runner unless it runs already. Nothing need wait for it (it answers about 50 ms
 * later; programs are started directly until then): the promise says whether it answered.
 */
export function startToolRunner(): Promise<boolean> {
  if (runner) return runner.started;
  const script = childScript();
  if (!script) return Promise.resolve(false);
  let child: ChildProcess;
  try {
    // its heap is small, and the process's size is what each start from it costs
    child = fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: ['--max-old-space-size=64'], serialization: 'json' });
  } catch {
    return Promise.resolve(false);
  }
  let answered: (ok: boolean) => void = () => undefined;
  const r: Runner = { child, ready: false, started: new Promise((resolve) => { answered = resolve; }), pending: new Map() };
  runner = r;
  child.on('message', (m: { ready?: true; id?: number } & ToolResult) => {
    if (m.ready) {
      r.ready = true;
      if (r.pending.size === 0) idle(r);
      answered(true);
    } else if (m.id !== undefined) {
      settle(r, m.id, { ok: m.ok, text: m.text });
    }
  });
  const gone = () => {
    if (runner === r) runner = null;
    answered(false);
    for (const id of [...r.pending.keys()]) settle(r, id, null);
  };
  child.on('exit', gone);
  child.on('disconnect', gone);
  child.on('error', gone);
  // idle, the runner keeps no program of ours alive (a CLI run or a test ends when its work does);
  // until it answers, its channel does: someone may be waiting for that
  child.unref();
  return r.started;
}

function idle(r: Runner): void {
  r.child.unref();
  r.child.channel?.unref();
}

/** The runner's process id once it answers (tests). */
export function toolRunnerPid(): number | undefined {
  return runner?.ready ? runner.child.pid : undefined;
}

function settle(r: Runner, id: number, result: ToolResult | null): void {
  const done = r.pending.get(id);
  if (!done) return;
  r.pending.delete(id);
  if (r.pending.size === 0) idle(r);
  done(result);
}

/**
 * Runs `program` to its end through the runner (started on first use) and returns its output;
 * started directly while the runner is not ready, or when it went away during the run.
 */
export async function runToolFast(program: string, args: readonly string[], timeLimitMs = TOOL_TIME_LIMIT_MS): Promise<ToolResult> {
  void startToolRunner();
  const r = runner as Runner | null;
  if (!r?.ready || !r.child.connected) return runTool(program, args, timeLimitMs);
  const id = nextId++;
  const reply = new Promise<ToolResult | null>((resolve) => r.pending.set(id, resolve));
  // waiting on the runner keeps this process alive, as waiting on the program itself would
  if (r.pending.size === 1) {
    r.child.ref();
    r.child.channel?.ref();
  }
  // the runner has the environment this process had when it started it; the folder is sent each time
  const request: ToolRequest = { id, program, args: [...args], timeLimitMs, cwd: process.cwd() };
  try {
    r.child.send(request);
  } catch {
    settle(r, id, null);
  }
  return (await reply) ?? runTool(program, args, timeLimitMs);
}

/** Ends the runner (the extension's deactivation; it also ends by itself with this process). */
export function stopToolRunner(): void {
  runner?.child.kill();
  runner = null;
}
