/**
 * Runs the compiler and the linker from a small long-lived process of our own. Starting a program
 * forks the process that asks, and the fork's cost grows with that process's memory: from VS
 * Code's extension host (hundreds of MB) it holds the host's main thread — every extension —
 * for several milliseconds, twice per save. From the runner (about 40 MB, started once) the
 * start costs what it costs from a shell, and the extension host is never held.
 *
 * Until the runner has started, or if it cannot start or dies, programs are started directly:
 * a save never waits on the runner. Windows starts processes without forking: no runner there.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { killTool, runTool, TOOL_TIME_LIMIT_MS, type ToolResult } from './run-tool.js';
import type { ToolRequest } from './tool-runner-child.js';

interface Pending {
  done: (r: ToolResult | null) => void;
  /** The program's process id, once the runner started it. */
  pid?: number;
}

interface Runner {
  child: ChildProcess;
  ready: boolean;
  /** Settles true when the runner answers, false when it ended first. */
  started: Promise<boolean>;
  pending: Map<number, Pending>;
}

/** Runners that ended unasked before programs are started directly for good (no fork per save). */
const MAX_FAILURES = 3;

let runner: Runner | null = null;
let nextId = 0;
let failures = 0;
let stopped = false;

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
  const script = process.platform === 'win32' || stopped || failures >= MAX_FAILURES ? undefined : childScript();
  if (!script) return Promise.resolve(false);
  // NODE_OPTIONS may carry a debugger's --require or --inspect (VS Code's JavaScript debug
  // terminal): those are for the user's program, not for ours
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  let child: ChildProcess;
  try {
    // its heap is small, and the process's size is what each start from it costs
    child = fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: ['--max-old-space-size=64'], env, serialization: 'json' });
  } catch {
    failures++;
    return Promise.resolve(false);
  }
  let answered: (ok: boolean) => void = () => undefined;
  const r: Runner = { child, ready: false, started: new Promise((resolve) => { answered = resolve; }), pending: new Map() };
  runner = r;
  child.on('message', (m: { ready?: true; id?: number; pid?: number } & ToolResult) => {
    if (m.ready) {
      r.ready = true;
      if (r.pending.size === 0) idle(r);
      answered(true);
    } else if (m.id !== undefined && m.pid !== undefined) {
      const p = r.pending.get(m.id);
      if (p) p.pid = m.pid;
    } else if (m.id !== undefined) {
      settle(r, m.id, { ok: m.ok, text: m.text });
    }
  });
  let ended = false;
  const gone = () => {
    if (ended) return;
    ended = true;
    if (runner === r) {
      runner = null;
      failures++;
    }
    answered(false);
    for (const [id, p] of [...r.pending]) {
      // what the runner had started may outlive it: stopped before the program runs again here
      if (p.pid !== undefined) killTool(p.pid);
      settle(r, id, null);
    }
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
  const p = r.pending.get(id);
  if (!p) return;
  r.pending.delete(id);
  if (r.pending.size === 0) idle(r);
  p.done(result);
}

/**
 * Runs `program` to its end through the runner (started on first use) and returns its output;
 * started directly while the runner is not ready, or when it went away during the run.
 */
export async function runToolFast(program: string, args: readonly string[], timeLimitMs = TOOL_TIME_LIMIT_MS): Promise<ToolResult> {
  void startToolRunner();
  const r = runner as Runner | null;
  if (!r?.ready || !r.child.connected) return runTool(program, args, { timeLimitMs });
  const id = nextId++;
  const reply = new Promise<ToolResult | null>((done) => r.pending.set(id, { done }));
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
  return (await reply) ?? runTool(program, args, { timeLimitMs });
}

/** Ends the runner for good (the extension's deactivation; it also ends by itself with this process). */
export function stopToolRunner(): void {
  stopped = true;
  const r = runner;
  runner = null;
  r?.child.kill();
}
