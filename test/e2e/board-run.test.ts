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

/** Every board suite but the corpus (it runs the longest; its board path is the same startDevice). */
const SUITES = ['skeleton', 'raw-bounds', 'seed-host', 'emulator-faults', 'limits-auth', 'overrun', 'link-faults', 'soak', 'bench'];

test('a run on the port: the suites use it, emulator-only tests are skipped with their reason, and the summary', async () => {
  const run = runner(['--only', SUITES.join(','), '--firmware-elf', emu.image], { P4JIT_PORT: emu.port, P4JIT_FAULT_OPS: '100', P4JIT_SOAK_CYCLES: '40' });
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
  assert.equal(/^firmware ELF\s+(.*)$/m.exec(summary)?.[1], emu.image);
  assert.equal(/^suites\s+(.*)$/m.exec(summary)?.[1], SUITES.join(', '));
  const [, passed, failed, skipped] = /^result\s+(\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(summary) ?? [];
  assert.equal(Number(failed), 0);
  for (const suite of SUITES) assert.match(r.stdout, new RegExp(`^✔ ${suite} › `, 'm'), `${suite}: no test passed on the port`);
  assert.ok(Number(passed) >= 30, `passed: ${passed}`);
  // what a board survives ran: printf from JIT code, a seed host's printing EXEC, the sealed link-fault run, the limits from INFO
  for (const name of ['emulator-faults › printf output (with %f) arrives as OUTPUT before the reply',
    'seed-host › seed host: a function that prints, run with EXEC: only its reply',
    'link-faults › 100 random operations at 1 % per-byte faults, sealed',
    'limits-auth › one allocation too many: TABLE_FULL', 'overrun › one int past the end of in']) {
    assert.ok(r.stdout.includes(`✔ ${name}`), `${name} passed`);
  }
  // every skip listed under its reason, each reason once
  const skips = summary.slice(summary.indexOf('\nskipped:\n'), summary.indexOf('\nbenchmarks:\n'));
  assert.equal(skips.match(/^ {4}- /gm)?.length, Number(skipped));
  const reasons = skips.match(/^ {2}\S.*:$/gm) ?? [];
  assert.equal(new Set(reasons).size, reasons.length);
  for (const reason of reasons) assert.match(reason, /^ {2}(emulator only: .+|the device sets no byte limit .+):$/);
  assert.match(skips, /^ {2}emulator only: a fault resets a board \(ESP-IDF's panic handler\):\n {4}- emulator-faults › illegal instruction: FAULT/m);
  assert.match(skips, /^ {2}emulator only: the emulated board's name and buffer size:\n {4}- skeleton › INFO describes the emulated device$/m);
  // and the benchmark table, measured on the port
  assert.match(summary, new RegExp(`^benchmarks:\nMeasured .*, board on ${emu.port}; 5 runs`, 'm'));
  assert.match(summary, /^\| upload 1 MiB \| [\d.]+ MB\/s/m);
});

test('without the firmware ELF, tests that call firmware functions are skipped, and the summary says why', async () => {
  const r = await runner(['--only', 'seed-host'], { P4JIT_PORT: emu.port });
  assert.equal(r.exitCode, 0, r.stdout + r.stderr);
  const summary = r.stdout.slice(r.stdout.indexOf('---- P4-JIT board test summary'));
  assert.match(summary, /^firmware ELF\s+not given \(tests that call firmware functions are skipped\)$/m);
  assert.match(summary, /^ {2}needs the firmware ELF: set P4JIT_FIRMWARE_ELF to the board's build:\n {4}- seed-host › seed host: a function that prints, run with EXEC/m);
  assert.match(r.stdout, /^✔ seed-host › seed host: PING, HEAP_INFO, ALLOC, WRITE_MEM, READ_MEM, EXEC, FREE$/m);
});

test('without a port it says how to give one; an unknown suite is named', async () => {
  const none = await runner([]);
  assert.equal(none.exitCode, 2);
  assert.match(none.stderr, /give the board's port: npm run test:board -- --port \/dev\/ttyACM0 \(or set P4JIT_PORT\)/);
  const bad = await runner(['--port', emu.port, '--only', 'device-loss']);
  assert.equal(bad.exitCode, 2);
  assert.match(bad.stderr, /no board suite device-loss \(known: skeleton, /);
});

/** QEMU processes anywhere under the runner (its suites run in processes of their own). */
const qemusUnderRunner = (pid: number) => descendantsOf(pid).filter((p) => commandOf(p).includes('qemu-system'));
