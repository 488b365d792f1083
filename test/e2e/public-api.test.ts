/**
 * The public API as a script uses it: the example script run from a folder outside the repository
 * (p4-jit installed there as a link, as `npm install <path>` or `npm link` makes it), and the
 * API's typed arguments, device buffers and typed errors against one emulated ESP32-P4.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { execa } from 'execa';

import {
  ArgumentError, CallFaultError, CallOverrunError, CallTimeoutError, CompileError, connect, type Device, InputError, P4JitError, SignatureError,
} from '../../extension/index.js';
import { repoRoot, scratchDir } from '../helpers/paths.js';
import { BOARD_PORT } from '../helpers/device.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('a Node script outside the repository runs a FIR filter through `import { connect } from \'p4-jit\'`', async () => {
  const dir = scratchDir('script');
  dirs.push(dir);
  for (const f of ['fir.c', 'fir.mjs']) copyFileSync(join(repoRoot, 'examples', 'script', f), join(dir, f));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(repoRoot, join(dir, 'node_modules', 'p4-jit'), 'dir');
  const r = await execa(process.execPath, ['fir.mjs', '--json'], { cwd: dir, reject: false, env: BOARD_PORT ? { P4JIT_PORT: BOARD_PORT } : {} });
  assert.equal(r.exitCode, 0, r.stderr || r.stdout);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.samples, 4800);
  assert.equal(summary.mismatches, 0, 'every output sample equals the host float32 filter');
  assert.match(summary.function, /^void fir\(const float \*x, float \*y, int n, const float \*h, int taps\)$/);
  assert.ok(summary.count > 4800, `the device counted the call (${summary.count} ${summary.counter})`);
  assert.ok(summary.rmsOut < summary.rmsIn, 'the low-pass removed noise');
});

describe('the public API', () => {
  let dev: Device;
  let src: string;
  before(async () => {
    src = scratchDir('api');
    dirs.push(src);
    dev = await connect(BOARD_PORT ? { port: BOARD_PORT } : { emulator: true });
  });
  after(() => dev?.close());

  const file = (name: string, text: string) => {
    const path = join(src, name);
    writeFileSync(path, text);
    return path;
  };

  test('typed arrays in and out, numbers, bigints, a device buffer by reference, text arguments', async () => {
    const scale = await dev.load(file('scale.c', [
      '#include <stdint.h>',
      'int64_t scale(const int16_t *in, int32_t *out, int n, const int16_t *gain, int64_t offset)',
      '{',
      '    int64_t sum = 0;',
      '    for (int i = 0; i < n; i++) { out[i] = in[i] * gain[0]; sum += out[i]; }',
      '    return sum + offset;',
      '}',
    ].join('\n')), 'scale');
    const input = Int16Array.from([1, -2, 300, -32768]);
    const out = new Int32Array(4);
    const gain = await dev.buffer(Int16Array.from([-3]));
    const r = await scale(input, out, 4, gain, 2n ** 40n);
    assert.deepEqual(Array.from(out), [-3, 6, -900, 98304], 'the output array was copied into the caller\'s Int32Array');
    assert.equal(r.value, -3n + 6n - 900n + 98304n + 2n ** 40n);
    assert.deepEqual(Array.from(await gain.read(new Int16Array(1))), [-3], 'the buffer reads back');
    // text, as typed in a prompt, is taken in the same call
    const again = await scale.call(['[1, 2]', new Int32Array(2), '2', gain, 0]);
    assert.equal(again.value, -9n);
    await gain.free();
  });

  test('wrong arguments are refused with the parameter named, before anything runs', async () => {
    const sum = await dev.load(file('sum.c', 'float sum(const float *x, int n) { float s = 0; for (int i = 0; i < n; i++) s += x[i]; return s; }\n'), 'sum');
    const before = (await dev.heap()).freeSpiram;
    await assert.rejects(sum(new Float64Array(3), 3), (e: unknown) => e instanceof ArgumentError && /'x'.*Float64Array.*Float32Array/.test((e as Error).message));
    await assert.rejects(sum(Float32Array.of(1), 2.5), (e: unknown) => e instanceof ArgumentError && /'n'/.test((e as Error).message));
    await assert.rejects(sum(Float32Array.of(1)), (e: unknown) => e instanceof ArgumentError && /expects 2 arguments/.test((e as Error).message));
    await assert.rejects(sum({} as never, 1), ArgumentError);
    assert.equal((await dev.heap()).freeSpiram, before, 'nothing was allocated');
    assert.equal((await sum(Float32Array.of(0.5, 0.25), 2)).value, 0.75);
  });

  test('a compile error, a fault, a runaway and an overrun are typed errors; the device keeps answering', async () => {
    await assert.rejects(dev.load(file('bad.c', 'int bad(void) { return missing; }\n'), 'bad'),
      (e: unknown) => e instanceof CompileError && /bad\.c:1:\d+: error: 'missing' undeclared/.test(e.diagnostics));
    const crash = await dev.load(file('crash.c', 'int crash(int *p, int k)\n{\n    int v = p[k] * 3;\n    return v + k;\n}\n'), 'crash');
    await assert.rejects(crash(null, 0), (e: unknown) => e instanceof CallFaultError && !(e instanceof CallTimeoutError)
      && e.fault.file?.endsWith('crash.c') === true && e.fault.line === 3);
    const spin = await dev.load(file('spin.c', 'int spin(volatile int *stop) { while (!*stop) {} return 1; }\n'), 'spin');
    await assert.rejects(spin.call([Int32Array.of(0)], { timeLimitMs: 50 }), CallTimeoutError);
    const fill = await dev.load(file('fill.c', 'void fill(int *p, int n) { for (int i = 0; i < n; i++) p[i] = 7; }\n'), 'fill');
    await assert.rejects(fill(new Int32Array(4), 12), (e: unknown) => e instanceof CallOverrunError && e.overrun.parameter === 'p');
    assert.equal((await spin(Int32Array.of(1))).value, 1, 'the device still runs code');
  });

  test('loadSource compiles text (a notebook cell) and loads every call of it', async () => {
    const cube = await dev.loadSource('int cube(int x) { return x * x * x; }\n', 'cube');
    assert.equal((await cube(-3)).value, -27);
    assert.match(await cube.disassembly(), /cube/);
    await cube.free();
    await assert.rejects(cube(2), /no function cube is loaded/);
  });

  test('a C function linked with an assembly file: assemble() lists its symbols or its errors; an edited .S is rebuilt before the next call', async () => {
    const asm = (k: number) => `    .globl scale_k\n    .type scale_k, @function\nscale_k:\n    li t0, ${k}\n    mul a0, a0, t0\n    ret\n    .size scale_k, .-scale_k\n`;
    const kernel = file('scale.S', asm(3));
    assert.deepEqual((await dev.assemble(kernel)).map((s) => s.name), ['scale_k']);
    const caller = await dev.load(file('scaled.c', 'int scale_k(int x);\nint scaled(int x) { return scale_k(x) + 1; }\n'), 'scaled', { link: [kernel] });
    assert.equal((await caller(5)).value, 16);
    file('scale.S', asm(4));
    assert.equal((await caller(5)).value, 21, 'the call saw the .S change, rebuilt and reloaded');
    await assert.rejects(dev.assemble(file('typo.S', 'f:\n    mull a0, a0, a0\n')),
      (e: unknown) => e instanceof CompileError && /typo\.S:2: Error: unrecognized opcode `mull/.test(e.diagnostics));
    await caller.free();
  });

  test('every error P4-JIT throws is a P4JitError, of its own kind: one instanceof tells them from a script\'s own', async () => {
    const twice = await dev.loadSource('int twice(int x) { return 2 * x; }\n', 'twice');
    const failures: [string, () => Promise<unknown>, new (...a: never[]) => Error][] = [
      ['a number that does not parse', () => twice('12abc'), ArgumentError],
      ['no such function', () => dev.loadSource('int one(void) { return 1; }\n', 'two'), SignatureError],
      ['C that does not compile', () => dev.loadSource('int bad(void) { return nothing; }\n', 'bad'), CompileError],
      ['an unknown generator', () => twice.call(['noise_of_mars(4)']), ArgumentError],
    ];
    for (const [what, fail, kind] of failures) {
      await assert.rejects(fail(), (e: unknown) => e instanceof P4JitError && e instanceof kind && e.name === kind.name, what);
    }
    await assert.rejects(dev.buffer(0), (e: unknown) => e instanceof InputError && e instanceof P4JitError && /positive whole number of bytes/.test((e as Error).message));
    const { parseScalar } = await import('../../toolchain/args.js');
    assert.throws(() => parseScalar('1e99', 'i32', 'int'), (e: unknown) => e instanceof InputError && e instanceof P4JitError);
    await twice.free();
  });

  test('a loop over blocks moves each block\'s input up and its output down once: the output array, passed again, is not sent back', async () => {
    const client = dev.session.client;
    const sent: number[] = [];
    const write = client.write.bind(client);
    client.write = (addr, data, opts) => { sent.push(data.length); return write(addr, data, opts); };
    try {
      // y[i] += g * x[i] reads y: skipping its upload is right only if the device holds exactly y
      const acc = await dev.load(file('acc.c', 'void acc(const float *x, float *y, int n, float g) { for (int i = 0; i < n; i++) y[i] += g * x[i]; }\n'), 'acc');
      const n = 16384;
      const y = new Float32Array(n);
      const want = new Float32Array(n);
      const bytesOf = (from: number) => sent.slice(from).reduce((a, b) => a + b, 0);
      for (let block = 0; block < 4; block++) {
        const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i / 7 + block));
        for (let i = 0; i < n; i++) want[i] = Math.fround(want[i] + Math.fround(0.5 * x[i]));
        const from = sent.length;
        await acc(x, y, n, 0.5);
        assert.deepEqual(y, want, `block ${block}: the device's sums`);
        const bytes = bytesOf(from);
        if (block === 0) assert.ok(bytes >= 2 * n * 4, `the first call sends x and y (${bytes} bytes)`);
        else assert.ok(bytes <= n * 4 + 2 * 4096, `block ${block}: only x is sent, and the pieces at its ends (${bytes} bytes)`);
      }
      // anything else written or run on the device makes its bytes unknown again: y goes up in full
      y.fill(1);
      want.fill(1);
      const other = await dev.loadSource('int other(void) { return 7; }\n', 'other');
      await other();
      const x = new Float32Array(n).fill(2);
      for (let i = 0; i < n; i++) want[i] = Math.fround(1 + Math.fround(0.5 * 2));
      const from = sent.length;
      await acc(x, y, n, 0.5);
      assert.ok(bytesOf(from) >= 2 * n * 4, 'after another call, x and y are both sent');
      assert.deepEqual(y, want);
      await other.free();
      await acc.free();
    } finally {
      client.write = write;
    }
  });
});
