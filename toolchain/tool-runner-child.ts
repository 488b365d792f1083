/**
 * The tool runner's process (see tool-runner.ts): starts each program it is sent, says its
 * process id, and sends back what it printed. It is small, so starting a program from it is
 * cheap. It ends with its parent, stopping what it started; Ctrl+C in a terminal is the parent's
 * to handle.
 */
import { killTool, runTool } from './run-tool.js';

export interface ToolRequest {
  id: number;
  program: string;
  args: string[];
  timeLimitMs: number;
  cwd: string;
}

const running = new Set<number>();

process.on('message', (m: ToolRequest) => {
  let pid = -1;
  void runTool(m.program, m.args, {
    timeLimitMs: m.timeLimitMs,
    cwd: m.cwd,
    onStart: (p) => {
      pid = p;
      running.add(p);
      process.send?.({ id: m.id, pid: p });
    },
  }).then((r) => {
    running.delete(pid);
    process.send?.({ id: m.id, ...r });
  });
});

function end(): void {
  for (const pid of running) killTool(pid);
  process.exit(0);
}
process.on('disconnect', end);
process.on('SIGTERM', end);
process.on('SIGINT', () => undefined);
process.send?.({ ready: true });
