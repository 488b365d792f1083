/**
 * The compile pipeline on the real compiler and the emulated ESP32-P4: a corpus of C functions (and
 * one in assembly) run through the library (JitSession.run) and through `p4jit run --json`, every
 * answer checked against the same computation done here on the host.
 *
 * Float kernels are built with -ffp-contract=off: by default GCC fuses a*b+c into one fmadd.s (a
 * single rounding), which Math.fround cannot mirror. With contraction off each operation rounds
 * once, as written, on the device and here alike.
 *
 * Assembly: signatures are read from C, so a .S file is never the run target; its function is
 * declared in a C file of the same folder and called from there (the folder's sources are linked).
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { execa } from 'execa';

import { DEFAULT_BUILD_ROOT } from '../../extension/cli/run.js';
import type { DeviceClient } from '../../extension/device/client.js';
import { ensureFirmwareImage } from '../../extension/emulator/image.js';
import { MallocCap } from '../../extension/protocol/constants.js';
import { JitSession } from '../../extension/session/jit-session.js';
import type { CallResult, SessionSettings } from '../../extension/session/types.js';
import { CompileError } from '../../toolchain/build.js';
import { SignatureError } from '../../toolchain/signature.js';
import { BOARD_CANNOT_STOP_CODE, emulatorOnly, FAULT_RESETS_A_BOARD, needsFirmwareElf, onBoard, startDevice, type DeviceUnderTest } from '../helpers/device.js';
import { repoRoot, scratchDir } from '../helpers/paths.js';

/** Scratch folders of this file, removed at the end. */
const scratchDirs: string[] = [];
const scratch = (tag: string) => {
  const dir = scratchDir(tag);
  scratchDirs.push(dir);
  return dir;
};

const corpus = (rel: string) => join(repoRoot, 'test', 'fixtures', 'corpus', rel);
const f = Math.fround;
const FP_FLAG = '-ffp-contract=off';

// ---------------------------------------------------------------- host models of the corpus

type Value = number | bigint | boolean | null;
interface Case {
  title: string;
  /** Relative to test/fixtures/corpus. */
  file: string;
  fn: string;
  args: string[];
  /** Link the other sources of the file's folder. */
  folder?: boolean;
  ret: Value;
  arrays?: Record<string, Value[]>;
  output?: string;
}

const list = (xs: readonly (number | bigint)[]) => `[${xs.join(', ')}]`;
const i8 = (v: number) => Number(BigInt.asIntN(8, BigInt(v)));
const u8 = (v: number) => Number(BigInt.asUintN(8, BigInt(v)));
const i16 = (v: number) => Number(BigInt.asIntN(16, BigInt(v)));
const u16 = (v: number) => Number(BigInt.asUintN(16, BigInt(v)));

function dotCase(): Case {
  const a = [0.1, -2.5, 3.75, 1e-3, 7, -0.333, 12.5, 0.2];
  const b = [1.5, 0.3, -2, 1000, 0.125, 3, -0.7, 9];
  const ret = a.reduce((acc, x, i) => f(acc + f(f(x) * f(b[i]))), 0);
  return { title: 'dot product of float arrays', file: 'dsp.c', fn: 'dot_product', args: [list(a), list(b), String(a.length)], ret };
}

function firCase(): Case {
  const x = [1, 0.5, -0.25, 2, 3.3, -1.1, 0, 0.7, 4, -2].map(f);
  const h = [0.5, 0.3, -0.2, 0.1].map(f);
  const y = x.map((_, i) => {
    let acc = 0;
    for (let k = 0; k < h.length && k <= i; k++) acc = f(acc + f(h[k] * x[i - k]));
    return acc;
  });
  return { title: 'FIR filter writes its output array (copy-back)', file: 'dsp.c', fn: 'fir',
    args: [list(x), String(x.length), list(h), String(h.length), `[0]*${x.length}`], ret: x.length, arrays: { y } };
}

function biquadCase(): Case {
  const x = [1, 0, 0, 0, 0.5, 0.5, 0.5, -1].map(f);
  const c = [0.2, 0.3, 0.2, -0.5, 0.25].map(f);
  let [s1, s2] = [0.1, -0.05].map(f);
  const out = x.map((input) => {
    const o = f(f(c[0] * input) + s1);
    s1 = f(f(f(c[1] * input) - f(c[3] * o)) + s2);
    s2 = f(f(c[2] * input) - f(c[4] * o));
    return o;
  });
  return { title: 'biquad: float samples and state array in and out', file: 'dsp.c', fn: 'biquad',
    args: [list(x), String(x.length), list(c), '[0.1, -0.05]'], ret: null, arrays: { x: out, state: [s1, s2] } };
}

function matmulCase(): Case {
  const [n, m, p] = [3, 4, 2];
  const a = [1, -2, 3, 4, 50, 6, -7, 8, 9, 10, -11, 1200];
  const b = [3, -1, 4, 1, -5, 9, 2, 6];
  const c = Array.from({ length: n * p }, (_, idx) => {
    const [i, j] = [Math.floor(idx / p), idx % p];
    let acc = 0;
    for (let k = 0; k < m; k++) acc += a[i * m + k] * b[k * p + j];
    return acc;
  });
  return { title: 'int32 matrix multiply into an output array', file: 'ints.c', fn: 'matmul_i32',
    args: [list(a), list(b), `[0]*${n * p}`, String(n), String(m), String(p)], ret: null, arrays: { c } };
}

function scalarCases(): Case[] {
  const [a, b, d] = [-123456789012n, 4567n, -89n];
  const hashIn = [0xdeadbeef, 0x12345678];
  const hash = (Math.imul(hashIn[0], 2654435761) ^ hashIn[1]) >>> 0;
  assert.ok(hash >= 2 ** 31, 'the hash case must give a value above 2^31');
  const mix = (x: number, y: number, n: number) => {
    let acc = x;
    for (let i = 0; i < n; i++) acc = acc * y + x / (i + 1);
    return acc;
  };
  return [
    { title: 'int64 multiply and divide with negatives (__divdi3)', file: 'ints.c', fn: 'i64_muldiv', args: [a, b, d].map(String), ret: (a * b) / d },
    { title: 'int64 remainder of a negative (__moddi3)', file: 'ints.c', fn: 'i64_mod', args: ['-9000000000007', '97'], ret: -9000000000007n % 97n },
    { title: 'uint64 division of 2^64-1 (__udivdi3)', file: 'ints.c', fn: 'u64_div', args: [String(2n ** 64n - 1n), '3'], ret: (2n ** 64n - 1n) / 3n },
    { title: 'int8 return: -1', file: 'ints.c', fn: 'narrow_i8', args: ['255'], ret: i8(255) },
    { title: 'uint8 return: 255', file: 'ints.c', fn: 'narrow_u8', args: ['-1'], ret: u8(-1) },
    { title: 'int16 return: -32768', file: 'ints.c', fn: 'narrow_i16', args: ['32768'], ret: i16(32768) },
    { title: 'uint16 return: 65535', file: 'ints.c', fn: 'narrow_u16', args: ['-1'], ret: u16(-1) },
    { title: 'bool return', file: 'ints.c', fn: 'is_multiple', args: ['-91', '7'], ret: -91 % 7 === 0 },
    { title: 'negative int32 return (INT32_MIN)', file: 'ints.c', fn: 'difference', args: ['-2000000000', '147483648'], ret: -2000000000 - 147483648 },
    { title: 'uint32 return above 2^31', file: 'ints.c', fn: 'hash_u32', args: hashIn.map(String), ret: hash },
    { title: 'a static function', file: 'ints.c', fn: 'triple_static', args: ['12345'], ret: 3 * 12345 + 1 },
    { title: 'a multi-line signature with comments', file: 'ints.c', fn: 'clamp_add', args: ['-100', '30', '-50', '50'], ret: Math.min(50, Math.max(-50, -100 + 30)) },
    { title: 'int8 and bool parameters', file: 'ints.c', fn: 'widen_i8', args: ['-128', 'true'], ret: 128 },
    { title: 'double parameters and return (soft-float)', file: 'doubles.c', fn: 'dbl_mix', args: ['1.1', '-0.7', '12'], ret: mix(1.1, -0.7, 12) },
    { title: 'double parameter, float return', file: 'doubles.c', fn: 'dbl_to_float', args: ['3.3'], ret: f(3.3 * 0.5) },
  ];
}

function arrayCases(): Case[] {
  const src = [1, -2, 3, 40000];
  const v8 = [1, -128, 127, -5, 0];
  const v16 = [1, 300, 65535, 1000];
  const v64 = [5000000000n, -9000000000n, 1n, 2n ** 62n];
  const prefix = v64.map((_, i) => v64.slice(0, i + 1).reduce((s, x) => s + x, 0n));
  const vd = [0.1, 0.2, 1e300, -7.5];
  const scaled = vd.map((x) => x * -3);
  return [
    { title: 'const array not copied back, non-const copied back, same call', file: 'ints.c', fn: 'scale_copy',
      args: [list(src), `[0]*${src.length}`, String(src.length), '-3'], ret: null, arrays: { dst: src.map((x) => x * -3) } },
    { title: 'int8 array in and out', file: 'arrays.c', fn: 'negate_i8', args: [list(v8), String(v8.length)],
      ret: v8.reduce((s, x) => s + x, 0), arrays: { v: v8.map((x) => i8(-x)) } },
    { title: 'uint16 array in and out', file: 'arrays.c', fn: 'scale_u16', args: [list(v16), String(v16.length), '3'],
      ret: null, arrays: { v: v16.map((x) => u16(x * 3)) } },
    { title: 'int64 array in and out', file: 'arrays.c', fn: 'prefix_i64', args: [list(v64), String(v64.length)],
      ret: prefix[prefix.length - 1], arrays: { v: prefix } },
    { title: 'double array in and out', file: 'arrays.c', fn: 'scale_f64', args: [list(vd), String(vd.length), '-3'],
      ret: scaled.reduce((s, x) => s + x, 0), arrays: { v: scaled } },
  ];
}

function otherCases(): Case[] {
  const v = [3, -4, 5, 1000];
  return [
    { title: 'a helper in another file of the folder', file: 'multi/main.c', fn: 'sum_of_squares', folder: true,
      args: [list(v), String(v.length)], ret: v.reduce((s, x) => s + x * x, 0) },
    { title: 'an assembly function called through its C prototype', file: 'asm/mac.c', fn: 'mac_via_asm', folder: true,
      args: ['6', '-7', '1000'], ret: 6 * -7 + 1000 },
    { title: 'printf with an int and a float', file: 'printf/hello.c', fn: 'say', args: ['-7', '-1.25'],
      ret: -14, output: `n=-7 f=${(-1.25).toFixed(3)}\ndone\n` },
  ];
}

function divideCase(): Case {
  const a = [1, -1, 0, 3];
  const b = [0, 0, 0, 4];
  const q = a.map((x, i) => f(x / b[i]));
  return { title: 'float division by zero: inf, -inf and nan', file: 'dsp.c', fn: 'divide',
    args: [list(a), list(b), `[0]*${a.length}`, String(a.length)], ret: q[0], arrays: { q } };
}

const CASES: Case[] = [dotCase(), firCase(), biquadCase(), divideCase(), matmulCase(), ...scalarCases(), ...arrayCases(), ...otherCases()];

/** The CLI's JSON form: a bigint as decimal text, a non-finite number as "inf", "-inf" or "nan". */
const toJson = (x: unknown) => JSON.parse(JSON.stringify(x, (_, v) =>
  typeof v === 'bigint' ? v.toString() : typeof v === 'number' && !Number.isFinite(v) ? (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf') : v));
const expectedOf = (c: Case) => toJson({ ret: c.ret, arrays: c.arrays ?? {}, output: c.output ?? '' });
const answerOf = (r: CallResult) => toJson({ ret: r.returnValue, arrays: r.arrays, output: r.output });

/** 1-based line of the first source line containing `marker`. */
function lineOf(file: string, marker: string): number {
  const i = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(marker));
  assert.ok(i >= 0, `${marker} not found in ${file}`);
  return i + 1;
}

// ---------------------------------------------------------------- the emulator and sessions

let emu: DeviceUnderTest;
let image: string;
let client: DeviceClient;
let session: JitSession;
let folderSession: JitSession;
const libraryAnswers = new Map<string, unknown>();

const settings = (over: Partial<SessionSettings> = {}): SessionSettings => ({
  firmwareElf: image,
  optimization: '-O2',
  extraFlags: [FP_FLAG],
  codeCaps: MallocCap.EXEC | MallocCap.SPIRAM | MallocCap['8BIT'],
  dataCaps: MallocCap.SPIRAM | MallocCap['8BIT'],
  callTimeLimitMs: 0,
  linkFolderSources: false,
  buildRoot: DEFAULT_BUILD_ROOT, // the CLI's: its runs then find these builds cached
  ...over,
});

before(async () => {
  // A private copy of the image: a rebuild of the shared one while this file runs must not make
  // it differ from the firmware that is running (the firmware-ELF check would refuse it).
  if (!onBoard) {
    image = join(scratch('corpus-fw'), 'p4jit-emu.elf');
    copyFileSync(await ensureFirmwareImage(), image);
  }
  emu = await startDevice({ image });
  image ??= emu.image ?? '';
  client = await emu.connect();
  session = new JitSession(client, settings());
  folderSession = new JitSession(client, settings({ linkFolderSources: true }));
});

after(async () => {
  await client?.close();
  await emu?.stop();
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- library

describe('library: JitSession.run', needsFirmwareElf(), () => {
  for (const c of CASES) {
    test(c.title, async () => {
      const r = await (c.folder ? folderSession : session).run(corpus(c.file), c.fn, c.args);
      assert.equal(r.fault, null, r.fault?.message);
      assert.ok(r.count !== null && r.count > 0n);
      assert.deepEqual(answerOf(r), expectedOf(c));
      libraryAnswers.set(c.title, answerOf(r));
    });
  }

  test('a compile error keeps GCC\'s file:line:col: error: form with the right line', async () => {
    const file = corpus('errors/error.c');
    const line = lineOf(file, 'ERROR-LINE');
    await assert.rejects(session.run(file, 'broken', ['1']), (e: unknown) => {
      assert.ok(e instanceof CompileError, String(e));
      assert.match(e.diagnostics, new RegExp(`error\\.c:${line}:\\d+: error: .*undeclared_variable`));
      assert.match(e.message, new RegExp(`error\\.c:${line}:\\d+: error:`));
      return true;
    });
  });

  test('a store through NULL: fault kind, store access fault (7), address 0, and the source line', emulatorOnly(FAULT_RESETS_A_BOARD), async () => {
    const file = corpus('faults.c');
    const r = await session.run(file, 'store_through', ['null', '21']);
    assert.ok(r.fault);
    assert.equal(r.fault.kind, 'fault');
    assert.equal(r.fault.cause, 7);
    assert.equal(r.fault.badAddress, 0);
    assert.ok(r.fault.file?.endsWith('faults.c'), r.fault.file);
    assert.equal(r.fault.line, lineOf(file, 'FAULT-LINE'));
    assert.equal(r.returnValue, null);
    assert.match(r.fault.message, /store access fault/);
  });

  test('a function that spins forever is stopped at its time limit; the next call works', emulatorOnly(BOARD_CANNOT_STOP_CODE), async () => {
    const file = corpus('faults.c');
    const r = await session.run(file, 'spin_forever', ['1'], { timeLimitMs: 100 });
    assert.ok(r.fault);
    assert.equal(r.fault.kind, 'timeout');
    const loop = lineOf(file, 'for (;;)');
    assert.ok(r.fault.line !== undefined && r.fault.line >= loop && r.fault.line <= loop + 2, `stopped at line ${r.fault.line}`);
    const next = await session.run(file, 'still_alive', ['41']);
    assert.equal(next.fault, null);
    assert.equal(next.returnValue, 42);
  });

  test('an assembly file is not a run target (signatures come from C)', async () => {
    await assert.rejects(session.build(corpus('asm/mac.S'), 'asm_mac'),
      (e: unknown) => e instanceof SignatureError && /mac\.S is assembly, and signatures are read from C/.test(e.message));
  });

  test('unchanged source builds from the cache without compiling; a change rebuilds and reloads', async (t) => {
    const file = join(scratch('corpus-src'), 'ints.c');
    copyFileSync(corpus('ints.c'), file);
    const s = new JitSession(client, settings({ buildRoot: scratch('corpus-cache') }));
    try {
      let t0 = performance.now();
      const first = await s.build(file, 'no_arrays');
      const uncachedMs = performance.now() - t0;
      assert.equal(first.cached, false);
      const mtimes = first.objects.map((o) => statSync(o).mtimeMs);
      t0 = performance.now();
      const second = await s.build(file, 'no_arrays');
      const cachedMs = performance.now() - t0;
      assert.equal(second.cached, true);
      assert.equal(second.key, first.key);
      assert.deepEqual(second.objects, first.objects);
      assert.deepEqual(second.objects.map((o) => statSync(o).mtimeMs), mtimes, 'no object was rewritten');
      t.diagnostic(`build of no_arrays: uncached ${uncachedMs.toFixed(0)} ms, cached ${cachedMs.toFixed(0)} ms`);

      assert.equal((await s.run(file, 'no_arrays', ['1000'])).returnValue, 1000 ^ 0x5a5a);
      const allocs = (await client.listAllocs()).length;
      const changed = readFileSync(file, 'utf8').replace('x ^ 0x5a5a', 'x ^ 0x0ff0');
      assert.notEqual(changed, readFileSync(file, 'utf8'));
      writeFileSync(file, changed);
      const third = await s.build(file, 'no_arrays');
      assert.equal(third.cached, false);
      assert.notEqual(third.key, first.key);
      assert.equal((await s.run(file, 'no_arrays', ['1000'])).returnValue, 1000 ^ 0x0ff0);
      assert.equal((await client.listAllocs()).length, allocs, 'the old version was freed');
    } finally {
      await s.freeAll();
    }
  });

  test('a load that fails at the link (undefined symbol) leaves heap and allocations as they were', async () => {
    const heap = await client.heapInfo();
    const allocs = await client.listAllocs();
    await assert.rejects(session.run(corpus('errors/undefined.c'), 'calls_missing', ['1']),
      (e: unknown) => e instanceof CompileError && /undefined reference to `helper_defined_nowhere'/.test(e.diagnostics));
    assert.deepEqual(await client.heapInfo(), heap);
    assert.deepEqual(await client.listAllocs(), allocs);
  });

  test('a load whose link fails after its ALLOC (the one link is at the allocated address) frees the allocation', async () => {
    const heap = await client.heapInfo();
    const allocs = await client.listAllocs();
    const requests = client.stats.requests;
    await assert.rejects(session.load(corpus('errors/undefined.c'), 'calls_missing'), (e: unknown) => e instanceof CompileError);
    assert.ok(client.stats.requests - requests >= 2, 'an ALLOC and its FREE went to the device');
    assert.deepEqual(await client.heapInfo(), heap);
    assert.deepEqual(await client.listAllocs(), allocs);
    assert.equal((await session.run(corpus('ints.c'), 'no_arrays', ['1'])).returnValue, 1 ^ 0x5a5a);
  });

  test('a link error\'s message names the undefined symbol, whatever the function is called', async () => {
    await assert.rejects(session.run(corpus('errors/undefined.c'), 'report_error', ['1']),
      (e: unknown) => e instanceof CompileError && /^link failed: .*undefined reference to `log_error_code'/.test(e.message));
  });

  test('round trips of one call on a loaded function: 1 without arrays, at most 3 with 1 or 4', async (t) => {
    const calls: Array<[string, string, string[], number]> = [
      ['ints.c', 'no_arrays', ['7'], 0],
      ['arrays.c', 'negate_i8', ['[1, 2, 3]', '3'], 1],
      ['ints.c', 'add4', ['[1, 2]', '[3, 4]', '[0]*2', '[0]*2', '2'], 4],
    ];
    for (const [file, fn, args, arrays] of calls) {
      await session.run(corpus(file), fn, args); // loads it and warms the argument arena
      const before = client.stats.requests;
      const r = await session.call(JitSession.key(corpus(file), fn), args);
      const trips = client.stats.requests - before;
      assert.equal(r.fault, null);
      if (arrays === 0) assert.equal(trips, 1);
      else assert.ok(trips <= 3, `${trips} round trips with ${arrays} arrays`);
      t.diagnostic(`${fn}: ${arrays} arrays, ${trips} round trips, ${r.hostMs.toFixed(1)} ms on the host`);
    }
    const r = await session.call(JitSession.key(corpus('ints.c'), 'add4'), ['[10, 20]', '[1, 2]', '[0]*2', '[0]*2', '2']);
    assert.deepEqual(toJson(r.arrays), { c: [11, 22], d: [9, 18] });
  });

  test('freeAll returns the device to no allocations', async () => {
    await session.freeAll();
    await folderSession.freeAll();
    assert.deepEqual(await client.listAllocs(), []);
  });
});

// ---------------------------------------------------------------- CLI

const cli = (args: string[]) => execa(process.execPath, [join(repoRoot, 'bin', 'p4jit.js'), ...args], { reject: false, cwd: repoRoot });
const cliRun = (file: string, fn: string, args: string[], extra: string[] = []) =>
  cli(['run', file, fn, ...args, '--port', emu.port, '--json', '--firmware-elf', image, `--flag=${FP_FLAG}`, ...extra]);

describe('CLI: p4jit run --json', needsFirmwareElf(), () => {
  // the pty takes one client at a time: the CLI's
  before(() => client.close());

  for (const c of CASES) {
    test(c.title, async () => {
      const r = await cliRun(corpus(c.file), c.fn, c.args, c.folder ? ['--link-folder'] : []);
      assert.equal(r.exitCode, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.equal(j.fault, null);
      // float32 values come as their shortest text: read back as float32, they are the values
      const f32 = (kind: string, v: unknown) => (kind === 'f32' && typeof v === 'number' ? Math.fround(v) : v);
      const arrays = Object.fromEntries(Object.entries(j.arrays as Record<string, unknown[]>).map(([name, values]) => [name, values.map((v) => f32(j.kinds.arrays[name], v))]));
      const answer = { ret: f32(j.kinds.return, j.return), arrays, output: j.output };
      assert.deepEqual(answer, expectedOf(c));
      if (libraryAnswers.has(c.title)) assert.deepEqual(answer, libraryAnswers.get(c.title));
    });
  }

  test('a compile error: exit 1, GCC\'s diagnostics with the line on stderr', async () => {
    const file = corpus('errors/error.c');
    const r = await cliRun(file, 'broken', ['1']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, new RegExp(`error\\.c:${lineOf(file, 'ERROR-LINE')}:\\d+: error:`));
    assert.equal(r.stdout, '');
  });

  test('a fault: exit 1, one line on stderr, the JSON fault with the source line', emulatorOnly(FAULT_RESETS_A_BOARD), async () => {
    const file = corpus('faults.c');
    const r = await cliRun(file, 'store_through', ['null', '21']);
    assert.equal(r.exitCode, 1);
    const j = JSON.parse(r.stdout);
    assert.equal(j.fault.kind, 'fault');
    assert.equal(j.fault.cause, 7);
    assert.equal(j.fault.line, lineOf(file, 'FAULT-LINE'));
    assert.equal(j.return, null);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /store access fault .* in faults\.c:\d+/);
  });

  test('a time-out with --time-limit, then the next run works', emulatorOnly(BOARD_CANNOT_STOP_CODE), async () => {
    const file = corpus('faults.c');
    const r = await cliRun(file, 'spin_forever', ['1'], ['--time-limit', '100']);
    assert.equal(r.exitCode, 1);
    assert.equal(JSON.parse(r.stdout).fault.kind, 'timeout');
    const next = await cliRun(file, 'still_alive', ['-5']);
    assert.equal(next.exitCode, 0, next.stderr);
    assert.equal(JSON.parse(next.stdout).return, -4);
  });

  test('the CLI runs, faults included, left nothing allocated on the device', async () => {
    client = await emu.connect();
    assert.deepEqual(await client.listAllocs(), []);
  });
});
