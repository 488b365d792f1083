/**
 * The tool runner (toolchain/tool-runner.ts) starts the compiler and the linker for every save:
 * what comes back through it must be what the program printed and how it ended, exactly as when
 * started directly, and no failure of the runner may lose a build or keep a process alive.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';

import { compileFlags } from '../../toolchain/build.js';
import { discoverToolchain } from '../../toolchain/discover.js';
import { runTool } from '../../toolchain/run-tool.js';
import { runToolFast, startToolRunner, toolRunnerPid } from '../../toolchain/tool-runner.js';
import { repoRoot, scratchDir } from '../helpers/paths.js';

const toolchain = discoverToolchain();
const dir = scratchDir('runner');
const flags = compileFlags({ toolchain, buildDir: dir });

test('a compile through the runner gives the same status and diagnostics as one started directly', async () => {
  assert.equal(await startToolRunner(), true, 'the runner answers');
  assert.ok(toolRunnerPid(), 'the runner has a process');
  const good = join(dir, 'good.c');
  writeFileSync(good, 'int twice(int x) { return 2 * x; }\n');
  const ok = await runToolFast(toolchain.gcc, [...flags, '-c', good, '-o', join(dir, 'good.o')]);
  assert.deepEqual(ok, { ok: true, text: '' });
  assert.ok(existsSync(join(dir, 'good.o')));

  const bad = join(dir, 'bad.c');
  writeFileSync(bad, 'int twice(int x) { return 2 * y; }\n');
  const args = [...flags, '-c', bad, '-o', join(dir, 'bad.o')];
  const viaRunner = await runToolFast(toolchain.gcc, args);
  const direct = await runTool(toolchain.gcc, args);
  assert.equal(viaRunner.ok, false);
  assert.match(viaRunner.text, /bad\.c:1:\d+: error: 'y' undeclared/);
  assert.deepEqual(viaRunner, direct);
});

test('a program that cannot be started, or runs past its time limit, says so; the limit stops all it started', { timeout: 60_000 }, async () => {
  assert.equal(await startToolRunner(), true);
  const missing = await runToolFast(join(dir, 'no-such-gcc'), ['--version']);
  assert.equal(missing.ok, false);
  assert.match(missing.text, /cannot start .*no-such-gcc: spawn .* ENOENT/);
  // as gcc's cc1 and as do, a child of the program holds its output open: stopped too, or the
  // run would last until the child's end
  const pidFile = join(dir, 'slow-child.pid');
  const slow = await runToolFast('sh', ['-c', `sleep 600 & echo $! > ${pidFile}; wait`], 300);
  assert.equal(slow.ok, false);
  assert.match(slow.text, /^sh was stopped after 300 ms without finishing$/);
  await waitUntil(() => !processAlive(Number(readFileSync(pidFile, 'utf8'))), 'the program\'s own child is stopped');
});

test('a runner that dies during a run loses nothing: what it started is stopped, the program run again directly', async () => {
  assert.equal(await startToolRunner(), true);
  const pid = toolRunnerPid()!;
  const log = join(dir, 'runs.log');
  writeFileSync(log, '');
  const run = runToolFast('sh', ['-c', `echo "start $PPID" >> ${log}; sleep 0.5; echo end >> ${log}; echo finished`]);
  await waitUntil(() => readFileSync(log, 'utf8').includes('start'), 'the runner started the program');
  process.kill(pid, 'SIGKILL');
  assert.deepEqual(await run, { ok: true, text: 'finished' });
  // started by the runner, stopped when it died, started again by this process: one end, not two
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [`start ${pid}`, `start ${process.pid}`, 'end']);
  // a new runner takes its place
  assert.equal(await startToolRunner(), true);
  assert.notEqual(toolRunnerPid(), pid);
});

test('a process using the runner ends by itself when its work is done, and the runner ends with it', async () => {
  const script = `
    const m = await import(${JSON.stringify(pathToFileURL(join(repoRoot, 'out', 'toolchain', 'tool-runner.js')).href)});
    await m.startToolRunner();
    const r = await m.runToolFast('echo', ['hello']);
    console.log(JSON.stringify({ pid: m.toolRunnerPid(), r }));`;
  // ends by itself: if the runner kept it alive, this would never return and the test time out
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 60_000 }, (e, stdout) => (e ? reject(e) : resolve(stdout)));
  });
  const { pid, r } = JSON.parse(out) as { pid: number; r: unknown };
  assert.deepEqual(r, { ok: true, text: 'hello' });
  // its runner sees the connection close and exits
  await waitUntil(() => !processAlive(pid), `the runner ${pid} ends with its parent`);
});

/** Running, and not a zombie waiting to be reaped. */
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; !condition(); i++) {
    assert.ok(i < 1000, `${what}: not within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
