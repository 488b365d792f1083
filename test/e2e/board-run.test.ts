/**
 * `npm run test:board`'s runner (test/board/run-board.ts) against the emulator's port given as if
 * it were a board: the suites it runs go to that port instead of starting emulators, emulator-only
 * tests are skipped with their reason, and the summary says what a bug report needs.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { execa } from 'execa';

import { Emulator } from '../../extension/emulator/launcher.js';
import { repoRoot } from '../helpers/paths.js';
import { commandOf, descendantsOf } from '../helpers/processes.js';

const RUNNER = join(repoRoot, 'out', 'test', 'board', 'run-board.js');
/** The runner as a user starts it: not inside this test's run (NODE_TEST_CONTEXT), no P4JIT_PORT unless given. */
const runner = (args: string[], env: Record<string, string> = {}) => {
  const { NODE_TEST_CONTEXT: _, P4JIT_PORT: __, ...base } = process.env;
  return execa(process.execPath, [RUNNER, ...args], { reject: false, cwd: repoRoot, extendEnv: false, env: { ...base, ...env } });
};

let emu: Emulator;
before(async () => { emu = await Emulator.start(); });
after(async () => { await emu?.stop(); });

test('a short run on the port: the suites use it, emulator-only tests are skipped with their reason, and the summary', async () => {
  const run = runner(['--only', 'skeleton,raw-bounds'], { P4JIT_PORT: emu.port });
  let started = 0; // the suites must not start emulators of their own
  const watch = setInterval(() => { started = Math.max(started, qemusUnderRunner(run.pid!).length); }, 100);
  const r = await run.finally(() => clearInterval(watch));
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  assert.equal(started, 0, 'no suite started an emulator');
  const summary = r.stdout.slice(r.stdout.indexOf('---- P4-JIT board test summary'));
  assert.match(summary, new RegExp(`^port\\s+${emu.port}$`, 'm'));
  assert.match(summary, /^device\s+board qemu-virt, protocol \d+, firmware [0-9a-f]{64}$/m);
  assert.match(summary, /max payload \d+ B, \d+ argument slots, \d+ allocations/);
  assert.match(summary, /^P4-JIT\s+\d+\.\d+\.\d+, Node v\d+/m);
  assert.match(summary, /^suites\s+skeleton, raw-bounds$/m);
  const [, passed, failed, skipped] = /^result\s+(\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(summary) ?? [];
  assert.ok(Number(passed) >= 15, `passed: ${passed}`);
  assert.equal(Number(failed), 0);
  assert.equal(Number(skipped), 1);
  assert.match(summary, /^skipped:\n {2}- skeleton › INFO describes the emulated device: emulator only: the emulated board's name/m);
});

test('without a port it says how to give one; an unknown suite is named', async () => {
  const none = await runner([]);
  assert.equal(none.exitCode, 2);
  assert.match(none.stderr, /give the board's port: npm run test:board -- --port \/dev\/ttyACM0 \(or set P4JIT_PORT\)/);
  const bad = await runner(['--port', emu.port, '--only', 'soak']);
  assert.equal(bad.exitCode, 2);
  assert.match(bad.stderr, /no board suite soak \(known: skeleton, /);
});

/** QEMU processes anywhere under the runner (its suites run in processes of their own). */
const qemusUnderRunner = (pid: number) => descendantsOf(pid).filter((p) => commandOf(p).includes('qemu-system'));
