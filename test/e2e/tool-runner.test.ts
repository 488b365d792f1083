/**
 * The tool runner (toolchain/tool-runner.ts) starts the compiler and the linker for every save:
 * what comes back through it must be what the program printed and how it ended, exactly as when
 * started directly, and no failure of the runner may lose a build or keep a process alive.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
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

test('a program that cannot be started, or runs past its time limit, says so', async () => {
  assert.equal(await startToolRunner(), true);
  const missing = await runToolFast(join(dir, 'no-such-gcc'), ['--version']);
  assert.equal(missing.ok, false);
  assert.match(missing.text, /cannot start .*no-such-gcc: spawn .* ENOENT/);
  const slow = await runToolFast('sleep', ['10'], 200);
  assert.equal(slow.ok, false);
  assert.match(slow.text, /sleep was stopped after 200 ms without finishing/);
});

test('a runner that dies during a run loses nothing: the program is run again directly', async () => {
  assert.equal(await startToolRunner(), true);
  const pid = toolRunnerPid()!;
  const run = runToolFast('sh', ['-c', 'sleep 0.3; echo finished']);
  process.kill(pid, 'SIGKILL');
  assert.deepEqual(await run, { ok: true, text: 'finished' });
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
    execFile(process.execPath, ['--input-type=module', '-e', script], (e, stdout) => (e ? reject(e) : resolve(stdout)));
  });
  const { pid, r } = JSON.parse(out) as { pid: number; r: unknown };
  assert.deepEqual(r, { ok: true, text: 'hello' });
  // its runner sees the connection close and exits
  for (let i = 0; processAlive(pid); i++) {
    assert.ok(i < 500, `the runner ${pid} outlived its parent by 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
});

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
