/**
 * Starts the two programs every save runs (the compiler, then the linker) and collects what they
 * print. Node's own spawn is used here rather than execa: execa's wrapper costs about 3 ms per
 * process on top of the start itself (5.2 against 2.3 ms for `true`, measured), which for a save
 * is two processes' worth of waiting. One-off tools (objdump, addr2line, size) still use execa.
 */
import { spawn } from 'node:child_process';

export interface ToolResult {
  ok: boolean;
  /** stdout and stderr in the order they were printed (as a terminal shows them). */
  text: string;
}

export interface ToolOptions {
  /** Longer than this, the program and everything it started are stopped. */
  timeLimitMs?: number;
  cwd?: string;
  /** Called with the program's process id once it runs. */
  onStart?: (pid: number) => void;
}

/** Longer than any real compile or link of one function: a hung tool is stopped, never waited on forever. */
export const TOOL_TIME_LIMIT_MS = 120_000;

const POSIX = process.platform !== 'win32';

/**
 * Stops a program started by runTool and the programs it started (GCC's cc1 and as hold its
 * output pipes: stopping gcc alone would leave them running and the output unfinished).
 */
export function killTool(pid: number): void {
  try {
    if (POSIX) process.kill(-pid, 'SIGKILL');
    else process.kill(pid);
  } catch {
    // ended already
  }
}

export function runTool(program: string, args: readonly string[], opts: ToolOptions = {}): Promise<ToolResult> {
  const timeLimitMs = opts.timeLimitMs ?? TOOL_TIME_LIMIT_MS;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    // a process group of its own (POSIX), so that killTool reaches everything it starts
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd, detached: POSIX, windowsHide: true });
    if (child.pid !== undefined) opts.onStart?.(child.pid);
    const collect = (b: Buffer) => chunks.push(b);
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let note = '';
    const timer = setTimeout(() => {
      note = `${program} was stopped after ${limitText(timeLimitMs)} without finishing`;
      if (child.pid !== undefined) killTool(child.pid);
    }, timeLimitMs);
    // 'error' alone when the program could not be started; 'close' after the output is complete
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, text: `cannot start ${program}: ${e.message}` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (!note && signal) note = `${program} was ended by ${signal}`;
      // the last newline dropped, as a captured command's output usually is
      const printed = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
      resolve({ ok: code === 0 && !note, text: [printed, note].filter(Boolean).join('\n') });
    });
  });
}

function limitText(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}
