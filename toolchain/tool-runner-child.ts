/**
 * The tool runner's process (see tool-runner.ts): starts each program it is sent and sends back
 * what it printed. It is small, so starting a program from it is cheap; it ends with its parent.
 */
import { runTool } from './run-tool.js';

export interface ToolRequest {
  id: number;
  program: string;
  args: string[];
  timeLimitMs: number;
  cwd: string;
}

process.on('message', (m: ToolRequest) => {
  void runTool(m.program, m.args, m.timeLimitMs, m.cwd).then((r) => process.send?.({ id: m.id, ...r }));
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: true });
