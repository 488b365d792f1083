/**
 * The notebook's host side without a device: how a script cell becomes a function (names carried
 * between cells, the last expression returned, TypeScript stripped, bad code refused by line), the
 * data readers (.wav through wavefile, .npy by its dtype) and the plot builders' checks.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import wavefile from 'wavefile';

import { cellScript, CellSyntaxError } from '../../extension/notebook/cell-script.js';
import { DataFiles, generators } from '../../extension/notebook/data.js';
import { NotebookKernel, type CellOutput } from '../../extension/notebook/kernel.js';
import { imageGrid, linePlot, scatterPlot } from '../../extension/notebook/plots.js';
import { fixture, scratchDir } from '../helpers/paths.js';

const hostKernel = () => new NotebookKernel({ baseDir: fixture('data'), notebookId: 'unit', device: () => Promise.reject(new Error('no device in this test')) });

async function cells(kernel: NotebookKernel, ...sources: [string, string?][]): Promise<CellOutput[]> {
  const out: CellOutput[] = [];
  for (const [i, [source, language = 'javascript']] of sources.entries()) await kernel.run({ id: String(i), source, language }, (o) => out.push(o));
  return out;
}

test('a cell returns its last expression and reads back every top-level name, including destructured ones', () => {
  const body = cellScript('const { a, b: [c] } = v;\nfunction f() {}\nclass K {}\nlet [d, ...e] = w;\na + c', 'javascript', ['v', 'w']);
  for (const name of ['a', 'c', 'd', 'e', 'f', 'K', 'v', 'w']) assert.ok(body.includes(`o["${name}"] = ${name};`), name);
  assert.ok(!body.includes('o["b"]'), 'a property key is not a name');
  assert.match(body, /return \(a \+ c\)$/);
});

test('bad cells are refused with the line: syntax errors, import declarations', () => {
  assert.throws(() => cellScript('const x = 1;\nconst = 2', 'javascript'), (e: Error) => e instanceof CellSyntaxError && /line 2/.test(e.message));
  assert.throws(() => cellScript("import fs from 'node:fs'", 'javascript'), /cannot use 'import … from' or 'export' \(line 1\): use const m = await import/);
});

test('names persist across cells (a reassignment too); TypeScript types are stripped; strict mode catches a typo', async () => {
  const kernel = hostKernel();
  const out = await cells(kernel,
    ['const n: number = 4; let xs: Float32Array = linspace(0, 1, n);', 'typescript'],
    ['n = 5'],
    ['[n, xs.length, xs[3]]'],
    ['nn = 1'],
    ['await import("node:path").then((p) => p.basename("/a/b.c"))']);
  assert.deepEqual(out.filter((o) => o.kind === 'value').map((o) => (o as { text: string }).text), ['5', '[ 5, 4, 1 ]', "'b.c'"]);
  const typo = out.find((o) => o.kind === 'error') as { message: string; stack: string };
  assert.equal(typo.message, 'nn is not defined');
  assert.match(typo.stack, /at cell 3, line 1:/);
});

test('print, display and plot become outputs in order', async () => {
  const out = await cells(hostKernel(), ['console.log("a", 1); console.error("b"); plot(range(3)); display({ k: 1 })']);
  assert.deepEqual(out.map((o) => o.kind), ['stdout', 'stderr', 'plot', 'value']);
  assert.deepEqual(out[0], { kind: 'stdout', text: 'a 1\n' });
});

test('generators are seeded Float32Arrays, with the same checks as in the argument prompts', () => {
  assert.deepEqual(Array.from(generators.range(4)), [0, 1, 2, 3]);
  assert.deepEqual(generators.noise(5, 1, 9), generators.noise(5, 1, 9));
  assert.notDeepEqual(generators.noise(5, 1, 9), generators.noise(5, 1, 10));
  assert.throws(() => generators.sine(8), /sine needs count, frequency, rate/);
  assert.throws(() => generators.zeros(Number.NaN), /count must be a finite number/);
});

test('readWav: 16-bit PCM and float32, mono and stereo, as float32 in [-1, 1]; a truncated or foreign file is named', () => {
  const dir = scratchDir('wav');
  const write = (name: string, channels: number, depth: string, samples: number[] | number[][]) => {
    const w = new wavefile.WaveFile();
    w.fromScratch(channels, 8000, depth, samples);
    writeFileSync(join(dir, name), w.toBuffer());
  };
  write('pcm16.wav', 1, '16', [0, 16384, -32768, 32767]);
  write('float.wav', 1, '32f', [0.25, -0.5]);
  write('stereo.wav', 2, '16', [[0, 32767], [-32768, 0]]);
  const files = new DataFiles(dir);
  const pcm = files.readWav('pcm16.wav');
  assert.equal(pcm.sampleRate, 8000);
  assert.ok(pcm.samples instanceof Float32Array);
  assert.deepEqual(Array.from(pcm.samples, (v) => Math.round(v * 1000) / 1000), [0, 0.5, -1, 1]);
  assert.deepEqual(Array.from(files.readWav('float.wav').samples), [0.25, -0.5]);
  const stereo = files.readWav('stereo.wav');
  assert.equal(stereo.channels.length, 2);
  assert.deepEqual(Array.from(stereo.channels[1], (v) => Math.round(v)), [-1, 0]);

  writeFileSync(join(dir, 'cut.wav'), readFileSync(join(dir, 'pcm16.wav')).subarray(0, 48)); // 2 of its 4 samples
  assert.throws(() => files.readWav('cut.wav'), /cut\.wav is truncated: its data chunk promises 8 bytes but 4 are there/);
  writeFileSync(join(dir, 'text.wav'), 'not audio');
  assert.throws(() => files.readWav('text.wav'), /text\.wav is not a readable \.wav file/);
  assert.throws(() => files.readWav('none.wav'), /cannot read .*none\.wav: no such file/);
});

test('readNpy gives the typed array of the file\'s dtype; other readers take an element type', () => {
  const files = new DataFiles(fixture('data'));
  const f32 = files.readNpy('ramp_f32.npy');
  assert.ok(f32 instanceof Float32Array && f32.length === 8 && f32[2] === 1);
  const i16 = files.readNpy('be_i16.npy');
  assert.ok(i16 instanceof Int16Array, 'big-endian int16 comes back as Int16Array');
  assert.ok(files.readNpy('ramp_f64.npy') instanceof Float64Array);
  assert.throws(() => files.readCsv('ramp_f32.npy', 'complex'), /unknown element type 'complex'/);
});

test('plot builders check their input and name what is wrong', () => {
  const line = linePlot({ in: new Float32Array([1, 2]), out: [3, 4] }, { title: 't', x: [0, 0.5] });
  assert.deepEqual(line, { kind: 'line', title: 't', xLabel: undefined, yLabel: undefined, series: [{ name: 'in', y: [1, 2], x: [0, 0.5] }, { name: 'out', y: [3, 4], x: [0, 0.5] }] });
  assert.equal(scatterPlot([1, 2], [3, 4]).kind, 'scatter');
  assert.throws(() => linePlot({ a: [1, 2] }, { x: [1] }), /series\[0\]: 1 x values but 2 y values/);
  assert.throws(() => linePlot('abc' as never), /expected an array/);
  const grid = imageGrid(new Uint8Array(2 * 4), { width: 2, height: 2, labels: ['a', 'b'] });
  assert.equal(grid.kind === 'images' && grid.images.length, 2);
  assert.throws(() => imageGrid(new Uint8Array(5), { width: 2, height: 2 }), /5 values are not a whole number of 2×2 images/);
});
