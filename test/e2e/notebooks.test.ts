/**
 * The two tutorial notebooks run end to end through the notebook kernel on the emulated ESP32-P4
 * (their cells check the device's results against host computations and throw if they differ),
 * and every kind of bad input a notebook meets ends as an error output with the kernel and the
 * device still usable and nothing left allocated.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { connect, type Device } from '../../extension/index.js';
import { readNotebookCode } from '../../extension/notebook/ipynb.js';
import { NotebookKernel, type CellOutput } from '../../extension/notebook/kernel.js';
import { repoRoot, scratchDir } from '../helpers/paths.js';
import { BOARD_PORT } from '../helpers/device.js';

const examples = join(repoRoot, 'examples', 'notebooks');
let dev: Device;
before(async () => {
  dev = await connect(BOARD_PORT ? { port: BOARD_PORT } : { emulator: true });
});
after(() => dev?.close());

/** Runs every code cell in order; returns each cell's outputs (stops at a failed cell, as a run-all does). */
async function runNotebook(file: string): Promise<{ outputs: CellOutput[][]; kernel: NotebookKernel }> {
  const kernel = new NotebookKernel({ baseDir: examples, notebookId: file, device: async () => dev });
  const outputs: CellOutput[][] = [];
  for (const cell of readNotebookCode(join(examples, file))) {
    const out: CellOutput[] = [];
    const ok = await kernel.run(cell, (o) => out.push(o));
    outputs.push(out);
    assert.ok(ok, `cell ${cell.label} failed: ${JSON.stringify(out.find((o) => o.kind === 'error'))}`);
  }
  return { outputs, kernel };
}

const printed = (outputs: CellOutput[][]) => outputs.flat().filter((o) => o.kind === 'stdout').map((o) => (o as { text: string }).text).join('');
const plots = (outputs: CellOutput[][]) => outputs.flat().flatMap((o) => (o.kind === 'plot' ? [o.spec] : []));

test('the audio DSP tutorial: C FIR and assembly gain equal the host computation, plots of input, output and cost', async () => {
  const { outputs, kernel } = await runNotebook('audio-dsp.ipynb');
  const text = printed(outputs);
  assert.match(text, /all 4800 samples equal the host's float32 filter/);
  assert.match(text, /gain_asm: all 4800 samples equal y \* 0\.5/);
  const perSample = [...text.matchAll(/^\s*(\d+) samples: ([\d.]+) (instructions|cycles) per sample$/gm)];
  assert.deepEqual(perSample.map((m) => Number(m[1])), [1000, 2000, 4000, 8000, 16000, 32000, 48000]);
  for (const m of perSample) assert.ok(Number(m[2]) > 31, `at least one instruction per tap (${m[0]})`);
  const specs = plots(outputs);
  assert.deepEqual(specs.map((s) => s.title), [
    'Input: the first 10 ms', 'FIR low-pass at 2 kHz: before and after', 'FIR cost per sample over input size', 'tone-with-hum.wav, first 50 ms',
  ]);
  const overlay = specs[1];
  assert.ok(overlay.kind === 'line' && overlay.series.length === 2 && overlay.series[1].y.length === 480);
  const loaded = outputs.flat().find((o) => o.kind === 'loaded');
  assert.deepEqual(loaded?.kind === 'loaded' && loaded.functions.map((f) => f.name), ['fir', 'gain']);
  assert.match(text, /Assembled gain_asm \(\d+ bytes\): C cells run after this one are linked with it/, 'the assembly cell');
  await kernel.dispose();
  assert.deepEqual(await dev.allocations(), [], 'closing the notebook freed its functions and buffers');
});

test('the inference tutorial: float32 and int8 MLPs over 1,000 images equal the host network, accuracy and a labelled grid', async () => {
  const { outputs, kernel } = await runNotebook('inference.ipynb');
  const text = printed(outputs);
  const f32 = /float32 on the device: accuracy ([\d.]+) %, all 1,000 predictions equal the host's/.exec(text);
  const i8 = /int8 on the device \(shift \d+\): accuracy ([\d.]+) %, every logit of all 1,000 images equals the host's/.exec(text);
  assert.ok(f32 && i8, text);
  assert.ok(Number(f32[1]) >= 85 && Number(i8[1]) >= 85, `the classifier learned (${f32[1]} %, ${i8[1]} %)`);
  const grid = plots(outputs).at(-1);
  assert.ok(grid?.kind === 'images' && grid.images.length === 24 && grid.labels?.length === 24 && grid.width === 8);
  await kernel.dispose();
  assert.deepEqual(await dev.allocations(), []);
});

describe('bad input in a notebook', () => {
  let kernel: NotebookKernel;
  let data: string;
  before(() => {
    data = scratchDir('nb-data');
    kernel = new NotebookKernel({ baseDir: data, notebookId: 'bad-input', device: async () => dev });
  });
  after(() => kernel.dispose());

  const run = async (source: string, language = 'javascript', id = 'x') => {
    const out: CellOutput[] = [];
    const ok = await kernel.run({ id, source, language }, (o) => out.push(o));
    return { ok, out, error: out.find((o) => o.kind === 'error') as (CellOutput & { kind: 'error' }) | undefined };
  };

  test('each failure is one error output naming the problem; the kernel and device go on, nothing is left allocated', async () => {
    const good = await run('int twice(int a) { return 2 * a; }\nvoid poke(void) { *(volatile int *)16 = 1; }\nint spin(void) { for (;;) {} }', 'c', 'kernels');
    assert.ok(good.ok, JSON.stringify(good.out));

    const cases: [string, string, string, RegExp][] = [
      ['a C cell that does not compile', 'int broken(int a) { return a +; }', 'c', /^the cell does not compile:\n[\s\S]*cell:1:\d+: error: expected expression/],
      ['a kernel that faults', 'await poke()', 'javascript', /fault|access/i],
      ['a kernel that runs away', 'await spin.call([], { timeLimitMs: 200 })', 'javascript', /time limit|timed out/i],
      ['the wrong number of arguments', 'await twice(1, 2)', 'javascript', /expects 1 argument \(a\), got 2/],
      ['a truncated .wav', 'readWav("short.wav")', 'javascript', /short\.wav is truncated: its data chunk promises \d+ bytes but \d+ are there/],
      ['an .npy of a dtype the pointer does not take', 'const y = new Float32Array(4); await gainf(readNpy("ints.npy"), y, 4)', 'javascript', /'const float \*'|Float32Array/],
      ['a syntax error', 'const = 1', 'javascript', /Unexpected token \(line 1\)/],
      ['an assembly cell that does not assemble', '    .globl f\nf:\n    fmul.x ft0, ft0, fa0\n', 'riscv-asm', /^the cell does not assemble:\n[\s\S]*cell:3: Error: unrecognized opcode `fmul\.x/],
      ['a C cell calling what no cell defines', 'int missing(int);\nint use(int x) { return missing(x); }', 'c', /undefined reference to `missing'/],
    ];
    // data files for the cases: a .wav cut in its data chunk, an int16 .npy
    const wav = Buffer.alloc(44 + 100);
    wav.write('RIFF', 0); wav.writeUInt32LE(36 + 1000, 4); wav.write('WAVEfmt ', 8); wav.writeUInt32LE(16, 16);
    wav.writeUInt16LE(1, 20); wav.writeUInt16LE(1, 22); wav.writeUInt32LE(8000, 24); wav.writeUInt32LE(16000, 28); wav.writeUInt16LE(2, 32); wav.writeUInt16LE(16, 34);
    wav.write('data', 36); wav.writeUInt32LE(1000, 40);
    writeFileSync(join(data, 'short.wav'), wav);
    const header = "{'descr': '<i2', 'fortran_order': False, 'shape': (4,), }";
    const npy = Buffer.concat([Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]), Buffer.from([header.length + 1, 0]), Buffer.from(`${header}\n`), Buffer.alloc(8)]);
    writeFileSync(join(data, 'ints.npy'), npy);
    assert.ok((await run('void gainf(const float *x, float *y, int n) { for (int i = 0; i < n; i++) y[i] = 2 * x[i]; }', 'c', 'gainf')).ok);

    for (const [what, source, language, message] of cases) {
      const r = await run(source, language, what);
      assert.equal(r.ok, false, `${what}: the cell fails`);
      assert.ok(r.error, `${what}: an error output`);
      assert.match(r.error.message, message, what);
      const after = await run('await twice(21)');
      assert.ok(after.ok && after.out.some((o) => o.kind === 'value' && /returned 42/.test(o.text)), `${what}: the kernel and device still work (${JSON.stringify(after.out)})`);
    }
    await kernel.dispose();
    assert.deepEqual(await dev.allocations(), [], 'nothing left allocated');
  });

  test('an assembly cell links into the C cells run after it; edited and run again with them, the new code is called', async () => {
    const k = new NotebookKernel({ baseDir: data, notebookId: 'assembly', device: async () => dev });
    const out: CellOutput[] = [];
    const run = async (id: string, source: string, language: string) => {
      out.length = 0;
      assert.ok(await k.run({ id, source, language }, (o) => out.push(o)), `cell ${id}: ${JSON.stringify(out)}`);
      return out.map((o) => ('text' in o ? o.text : '')).join('');
    };
    const addK = (k: number) => `# a0 += ${k}\n    .globl add_k\n    .type add_k, @function\nadd_k:\n    addi a0, a0, ${k}\n    ret\n    .size add_k, .-add_k\n`;
    const caller = 'int add_k(int x);\nint plus(int x) { return add_k(x) * 10; }';
    assert.match(await run('asm', addK(3), 'riscv-asm'), /^Assembled add_k \(\d+ bytes\): C cells run after this one are linked with it/);
    await run('c', caller, 'c');
    assert.match(await run('js', 'await plus(1)', 'javascript'), /returned 40/);
    await run('asm', addK(5), 'riscv-asm');
    await run('c', caller, 'c');
    assert.match(await run('js', 'await plus(1)', 'javascript'), /returned 60/, 'the edited assembly is what runs');
    assert.match(await run('empty', '    .text\nlocal_only:\n    ret\n', 'asm'), /makes no symbol global/);
    await k.dispose();
    assert.deepEqual(await dev.allocations(), []);
  });

  test('without a device, a cell that uses it says why; host-only cells still run', async () => {
    const offline = new NotebookKernel({ baseDir: data, notebookId: 'offline', device: async () => { throw new Error('no device answered on /dev/ttyACM0'); } });
    const out: CellOutput[] = [];
    assert.equal(await offline.run({ id: 'c', source: 'int f(void) { return 1; }', language: 'c' }, (o) => out.push(o)), false);
    assert.match((out[0] as { message: string }).message, /no device answered/);
    const host: CellOutput[] = [];
    assert.equal(await offline.run({ id: 'js', source: 'const s = sine(8, 1, 8); s.length', language: 'javascript' }, (o) => host.push(o)), true);
    assert.deepEqual(host, [{ kind: 'value', text: '8' }]);
  });

  test('names persist across cells; TypeScript cells run; an interrupt ends the cell and the next call is not started', async () => {
    const k = new NotebookKernel({ baseDir: data, notebookId: 'flow', device: async () => dev });
    const out: CellOutput[] = [];
    const emit = (o: CellOutput) => out.push(o);
    assert.ok(await k.run({ id: '1', source: 'const taps: number = 4;\nlet total = 0;\nfunction add(v: number) { total += v; return total; }', language: 'typescript' }, emit));
    assert.ok(await k.run({ id: '2', source: 'add(taps); add(1)', language: 'javascript' }, emit));
    assert.deepEqual(out.at(-1), { kind: 'value', text: '5' });
    assert.ok(await k.run({ id: '3', source: 'int slow(int n) { volatile int i = 0; while (i < n) i++; return i; }', language: 'c' }, emit));
    const abort = new AbortController();
    let calls = 0;
    // `finished` counts finished calls (a test hook in the notebook's scope): the interrupt comes after the first
    (k as unknown as { scope: Map<string, unknown> }).scope.set('finished', () => { calls++; if (calls === 1) abort.abort(); });
    assert.equal(await k.run({ id: '4', source: 'for (;;) { await slow(2000000); finished(); }', language: 'javascript' }, emit, abort.signal), false);
    assert.equal(calls, 1, 'no call finished after the interrupt');
    assert.match((out.at(-1) as { message: string }).message, /^interrupted: a call already running on the device ends at its time limit/);
    await k.dispose();
  });
});
