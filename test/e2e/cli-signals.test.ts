/**
 * The CLI interrupted and fed large arrays, on emulated ESP32-P4s: Ctrl+C (SIGINT) or SIGTERM in
 * the middle of an upload or a call leaves the device's allocation table as it was, ends an
 * authenticated session and exits 130/143; a second Ctrl+C exits at once, and `p4jit free --all`
 * cleans up after it. Pointer arguments come from data files (@x.npy, .csv, .json, .bin); an array
 * that cannot fit is refused from the device's free heap before it is built.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { DeviceClient } from '../../extension/device/client.js';
import { ensureFirmwareImage } from '../../extension/emulator/image.js';
import { Emulator } from '../../extension/emulator/launcher.js';
import { DeviceCap } from '../../extension/protocol/constants.js';
import type { AllocEntry } from '../../extension/protocol/payloads.js';
import { fixture, repoRoot, scratchDir } from '../helpers/paths.js';

const BIN = join(repoRoot, 'bin', 'p4jit.js');
const SECRET = 'correct horse battery staple';
const dir = scratchDir('cli-signals');
const KERNELS = join(dir, 'kernels.c');
const emulators: Emulator[] = [];
let emu: Emulator;
let image: string;

before(async () => {
  image = join(dir, 'p4jit-emu.elf'); // a private copy, immune to a rebuild of the shared image
  copyFileSync(await ensureFirmwareImage(), image);
  writeFileSync(KERNELS, `#include <stdint.h>
int sum(const int32_t *a, int n) { int s = 0; for (int i = 0; i < n; i++) s += a[i]; return s; }
long long suml(const int32_t *a, int n) { long long s = 0; for (int i = 0; i < n; i++) s += a[i]; return s; }
float fsum(const float *x, int n) { float s = 0; for (int i = 0; i < n; i++) s += x[i]; return s; }
void twice(float *x, int n) { for (int i = 0; i < n; i++) x[i] *= 2; }
int spin(int k) { volatile int i = 0; for (;;) i += k; return i; }
`);
  emu = await start({ image });
});

after(async () => {
  for (const e of emulators) await e.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function start(opts: Parameters<typeof Emulator.start>[0]): Promise<Emulator> {
  const e = await Emulator.start(opts);
  emulators.push(e);
  return e;
}

/** The device's allocation table, read by a connection of its own (authenticated when a secret is given). */
async function allocs(on: Emulator, secret?: string): Promise<AllocEntry[]> {
  const client = await DeviceClient.open(on.port, { connectTimeoutMs: 30000 });
  try {
    if (secret) await client.authenticate(secret);
    return await client.listAllocs();
  } finally {
    await client.close();
  }
}

interface Running {
  /** Resolves with the first stderr line matching `re`. */
  waitFor(re: RegExp): Promise<string>;
  signal(sig: NodeJS.Signals): number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; at: number }>;
}

/** Starts the CLI in the background, its stderr read line by line. */
function launch(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, P4JIT_SECRET: '', ...env } });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ re: RegExp; resolve(line: string): void }> = [];
  proc.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of [...waiters]) {
      const line = stderr.split('\n').find((l) => w.re.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; at: number }>((resolve) =>
    proc.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, at: Date.now() })));
  return {
    waitFor: (re) => Promise.race([
      new Promise<string>((resolve) => {
        const line = stderr.split('\n').find((l) => re.test(l));
        if (line !== undefined) resolve(line);
        else waiters.push({ re, resolve });
      }),
      exited.then((r) => { throw new Error(`p4jit exited (${r.code}) before printing ${re}:\n${r.stderr}`); }),
    ]),
    signal: (sig) => {
      proc.kill(sig);
      return Date.now();
    },
    exited,
  };
}

const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => launch(args, env).exited;

describe('interrupted runs leave nothing behind', () => {
  test('SIGINT in the middle of a 16 MB argument upload: the upload stops, everything is freed, exit 130', async () => {
    const before = await allocs(emu);
    const run = launch(['run', KERNELS, 'sum', '[1]*4000000', '4000000', '--port', emu.port, '--firmware-elf', image, '-v']);
    await run.waitFor(/^p4jit: uploading 16000000 bytes of arguments$/);
    const sent = run.signal('SIGINT');
    const r = await run.exited;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /^p4jit: interrupted \(SIGINT\): stopping the upload, then freeing what this run allocated \(Ctrl\+C again to quit at once\)$/m);
    assert.doesNotMatch(r.stderr, /calling sum|not stopped within/, 'stopped before the call, and not by the deadline');
    assert.equal(r.stdout, '', 'no call, no result');
    assert.ok(r.at - sent < 5000, `exited ${r.at - sent} ms after the signal`);
    assert.deepEqual(await allocs(emu), before);
  });

  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    test(`${sig} during a call: the call ends at its time limit, its code is freed, exit ${code}`, async () => {
      const before = await allocs(emu);
      const run = launch(['run', KERNELS, 'spin', '1', '--port', emu.port, '--firmware-elf', image, '--time-limit', '1500', '-v']);
      await run.waitFor(/^p4jit: calling spin \(time limit 1500 ms\)$/);
      const sent = run.signal(sig);
      const r = await run.exited;
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, new RegExp(`^p4jit: interrupted \\(${sig}\\): waiting for the running call to end at its time limit \\(1500 ms\\)`, 'm'));
      assert.match(r.stdout, /fault: .*spin exceeded its time limit/, 'the call was stopped by the device, not abandoned');
      assert.doesNotMatch(r.stderr, /not stopped within/);
      assert.ok(r.at - sent < 1500 + 5000, `exited ${r.at - sent} ms after the signal`);
      assert.deepEqual(await allocs(emu), before);
    });
  }

  test('a second Ctrl+C exits at once; p4jit free --all then frees what was left', async () => {
    assert.deepEqual(await allocs(emu), [], 'this test starts from an empty table');
    const run = launch(['run', KERNELS, 'spin', '1', '--port', emu.port, '--firmware-elf', image, '--time-limit', '8000', '-v']);
    await run.waitFor(/^p4jit: calling spin/);
    run.signal('SIGINT');
    await run.waitFor(/^p4jit: interrupted \(SIGINT\): waiting for the running call/);
    const second = run.signal('SIGINT');
    const r = await run.exited;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /^p4jit: SIGINT again: exiting at once \(what this run allocated may stay on the device: p4jit free --all\)$/m);
    assert.ok(r.at - second < 3000, `exited ${r.at - second} ms after the second signal, with the call's 8 s limit still running`);
    // the function's code stayed (the device was still running it): free --all takes it
    const left = await allocs(emu); // waits for the device to finish the call
    assert.equal(left.length, 1, JSON.stringify(left));
    const freed = await cli(['free', '--all', '--port', emu.port]);
    assert.equal(freed.code, 0, freed.stderr);
    assert.equal(freed.stdout.trim(), `freed 1 allocation (${left[0].size} bytes)`);
    assert.deepEqual(await allocs(emu), []);
    assert.equal((await cli(['free', '--all', '--port', emu.port])).stdout.trim(), 'no allocations');
  });

  test('on a device with a secret, an interrupted run still logs out (AUTH_END): the device forgets it', async () => {
    const locked = await start({ image, secret: SECRET });
    const before = await allocs(locked, SECRET);
    const run = launch(['run', KERNELS, 'spin', '1', '--port', locked.port, '--firmware-elf', image, '--time-limit', '1000', '-v'], { P4JIT_SECRET: SECRET });
    await run.waitFor(/^p4jit: calling spin/);
    run.signal('SIGINT');
    const r = await run.exited;
    assert.equal(r.code, 130, r.stderr);
    const next = await DeviceClient.open(locked.port);
    try {
      assert.ok(next.has(DeviceCap.AuthRequired) && !next.has(DeviceCap.Authenticated), 'the next host finds the device locked');
      await assert.rejects(next.listAllocs(), /requires authentication/);
    } finally {
      await next.close();
    }
    assert.deepEqual(await allocs(locked, SECRET), before);
  });
});

describe('arrays from data files (@file)', () => {
  const run = (fn: string, args: string[], extra: string[] = []) =>
    cli(['run', KERNELS, fn, ...args, '--port', emu.port, '--firmware-elf', image, '--json', ...extra]);

  test('.npy, .csv, .json, .bin: each read into the signature\'s element type', async () => {
    copyFileSync(fixture('data/ramp_f32.npy'), join(dir, 'ramp.npy')); // NumPy's: 0, 0.5, ... 3.5
    writeFileSync(join(dir, 'x.csv'), '1.5,2.5\n-1\n');
    writeFileSync(join(dir, 'x.json'), '[[1, 2], [3, 4.25]]');
    const bin = Buffer.alloc(12);
    [0.25, 0.5, 8].forEach((v, i) => bin.writeFloatLE(v, i * 4));
    writeFileSync(join(dir, 'x.bin'), bin);
    for (const [file, n, expected] of [['@ramp.npy', 8, 14], ['@x.csv', 3, 3], ['@x.json', 4, 10.25], ['@x.bin', 3, 8.75]] as const) {
      const r = await run('fsum', [file, String(n)]);
      assert.equal(r.code, 0, `${file}: ${r.stderr}`);
      assert.equal(JSON.parse(r.stdout).return, expected, file);
    }
    const back = await run('twice', ['@x.csv', '3']);
    assert.deepEqual(JSON.parse(back.stdout).arrays, { x: [3, 5, -2] }, 'a non-const array from a file comes back');
    const ints = Buffer.alloc(4 * 1000);
    for (let i = 0; i < 1000; i++) ints.writeInt32LE(i - 300, i * 4);
    writeFileSync(join(dir, 'ints.raw'), ints);
    const r = await run('suml', ['@ints.raw', '1000']);
    assert.equal(JSON.parse(r.stdout).return, String(Array.from({ length: 1000 }, (_, i) => i - 300).reduce((a, b) => a + b)));
  });

  test('bad files: a usage error naming the file and the problem, before any device is opened', async () => {
    const f64 = fixture('data/ramp_f64.npy');
    const good = readFileSync(fixture('data/ramp_f32.npy'));
    writeFileSync(join(dir, 'cut.npy'), good.subarray(0, good.length - 5));
    writeFileSync(join(dir, 'bad.csv'), '1,2\n3,four\n');
    writeFileSync(join(dir, 'odd.bin'), Buffer.alloc(7));
    writeFileSync(join(dir, 'bad.json'), '[1, 2');
    const cases: Array<[string, RegExp]> = [
      [`@${f64}`, /argument 'x': ramp_f64\.npy holds float64 values \(dtype '<f8'\), but 'const float \*' takes float32/],
      ['@cut.npy', /argument 'x': cut\.npy is truncated: its header promises 8 float32 values \(32 bytes\) but 27 bytes follow/],
      ['@bad.csv', /argument 'x': bad\.csv line 2, field 2: 'four' is not a number/],
      ['@odd.bin', /argument 'x': odd\.bin has 7 bytes, not a whole number of 4-byte float elements/],
      ['@bad.json', /argument 'x': bad\.json is not valid JSON/],
      ['@nothere.npy', /argument 'x': cannot read data file .*nothere\.npy: no such file/],
    ];
    for (const [arg, message] of cases) {
      const r = await cli(['run', KERNELS, 'fsum', arg, '3', '--port', '/nonexistent/p4jit-port']);
      assert.equal(r.code, 2, `${arg}: ${r.stderr}`);
      assert.match(r.stderr, message, arg);
    }
  });
});

describe('an array that cannot fit', () => {
  test('suml [1]*16777216 (64 MiB) fails at once from the device\'s free heap, leaving nothing allocated', async () => {
    const before = await allocs(emu);
    const r = await cli(['run', KERNELS, 'suml', '[1]*16777216', '16777216', '--port', emu.port, '--firmware-elf', image, '-v']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^p4jit: the array arguments need 64\.0 MiB on the device \(the largest, 'a', is 16777216 int32 values, 64\.0 MiB\) but its PSRAM has \d+\.\d MiB free: pass smaller arrays, or free memory \(p4jit free --all\)$/m);
    assert.doesNotMatch(r.stderr, /uploading/, 'nothing was built or sent');
    assert.deepEqual(await allocs(emu), before);
  });

  test('free --all takes no address and only goes with free', async () => {
    assert.match((await cli(['free', '--all', '0x1'])).stderr, /free --all takes no address/);
    assert.match((await cli(['heap', '--all'])).stderr, /--all goes with free, not heap/);
  });
});
