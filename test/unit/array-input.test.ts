// Pointer arguments from data files (@file): each format read into the pointer's element type,
// the element count known without building the array, and a clear error for every bad file.
// The .npy fixtures were written by NumPy itself (np.save).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { argumentElementCount, measureArgument, parseArgument, ArgumentError, type JsValue } from '../../toolchain/args.js';
import { isFileReference } from '../../toolchain/array-input.js';
import { TypeScope } from '../../toolchain/ctypes.js';
import type { Param } from '../../toolchain/signature.js';
import { fixture, scratchDir } from '../helpers/paths.js';
import wavefile from 'wavefile';

const scope = new TypeScope();
const param = (typeText: string, name = 'x'): Param => ({ name, type: scope.paramType(typeText) });
const data = fixture('data');
const dir = scratchDir('array-input');
after(() => rmSync(dir, { recursive: true, force: true }));

function values(text: string, typeText: string, baseDir = data): JsValue[] {
  const a = parseArgument(text, param(typeText), { baseDir });
  assert.equal(a.kind, 'array', text);
  return a.kind === 'array' ? a.values : [];
}

function bytes(text: string, typeText: string, baseDir = data): Buffer {
  const a = parseArgument(text, param(typeText), { baseDir });
  return a.kind === 'array' ? a.data : Buffer.alloc(0);
}

function file(name: string, content: string | Buffer): string {
  writeFileSync(join(dir, name), content);
  return `@${name}`;
}

test('an @ followed by a number is a device address, anything else a file', () => {
  for (const t of ['@0x82001000', '@2147483648', '@ 0x10', '@-1']) assert.equal(isFileReference(t), false, t);
  for (const t of ['@x.npy', '@data/x.csv', '@./0x1.bin', '@/tmp/a.json']) assert.equal(isFileReference(t), true, t);
  const a = parseArgument('@0x82001000', param('float *'));
  assert.ok(a.kind === 'scalar' && a.value === 0x82001000);
});

test('.npy files written by NumPy: values, 2-D arrays row by row, big-endian, bool', () => {
  assert.deepEqual(values('@ramp_f32.npy', 'const float *'), [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5]);
  assert.deepEqual(values('@ramp_f64.npy', 'double *'), [0, 1 / 3, 2 / 3, 1, 4 / 3, 5 / 3, 2, 7 / 3]);
  assert.deepEqual(values('@grid_i32.npy', 'int32_t *'), [-2, -1, 0, 1, 2, 3]);
  assert.deepEqual(values('@be_i16.npy', 'int16_t *'), [1, -2, 300, -32768]);
  assert.deepEqual(bytes('@be_i16.npy', 'int16_t *'), Buffer.from([1, 0, 0xfe, 0xff, 0x2c, 0x01, 0x00, 0x80]), 'sent little-endian');
  assert.deepEqual(values('@flags_bool.npy', 'bool *'), [true, false, true]);
  // the float bytes go to the device exactly as NumPy stored them
  const raw = readFileSync(join(data, 'ramp_f32.npy'));
  assert.deepEqual(bytes('@ramp_f32.npy', 'float *'), raw.subarray(raw.length - 32));
});

test('.npy: the dtype must be the pointer\'s element type, said clearly', () => {
  assert.throws(() => parseArgument('@ramp_f64.npy', param('float *', 'samples'), { baseDir: data }), (e: Error) =>
    e instanceof ArgumentError && /^argument 'samples': ramp_f64\.npy holds float64 values \(dtype '<f8'\), but 'float \*' takes float32: save it as float32 \(e\.g\. np\.save\(path, x\.astype\(np\.float32\)\)\)$/.test(e.message));
  assert.throws(() => values('@grid_i32.npy', 'uint32_t *'), /holds int32 values .* takes uint32/);
  assert.throws(() => values('@ramp_f32.npy', 'int *'), /holds float32 values/);
  assert.throws(() => values('@cols_fortran.npy', 'int *'), /Fortran \(column-major\) order: save np\.ascontiguousarray\(x\)/);
});

test('.npy: truncated, padded, not an .npy, malformed header', () => {
  const good = readFileSync(join(data, 'ramp_f32.npy'));
  assert.throws(() => values(file('cut.npy', good.subarray(0, good.length - 3)), 'float *', dir),
    /argument 'x': cut\.npy is truncated: its header promises 8 float32 values \(32 bytes\) but 29 bytes follow/);
  assert.throws(() => values(file('cuthead.npy', good.subarray(0, 40)), 'float *', dir), /cuthead\.npy is truncated inside its \.npy header/);
  assert.throws(() => values(file('long.npy', Buffer.concat([good, Buffer.alloc(4)])), 'float *', dir), /long\.npy has 4 bytes after its 8 values/);
  assert.throws(() => values(file('text.npy', 'just text, not numpy'), 'float *', dir), /text\.npy is not an \.npy file/);
  const header = good.subarray(10, 10 + good.readUInt16LE(8)).toString('latin1');
  const broken = Buffer.concat([good.subarray(0, 10), Buffer.from(header.replace("'shape'", "'shap'"), 'latin1'), good.subarray(10 + header.length)]);
  assert.throws(() => values(file('bad.npy', broken), 'float *', dir), /bad\.npy: malformed \.npy header/);
});

test('.csv: one number per field, any layout; errors name line and field', () => {
  assert.deepEqual(values(file('a.csv', '1,2,3\n4, 5 ,6\r\n\n0x10\n'), 'int *', dir), [1, 2, 3, 4, 5, 6, 16]);
  assert.deepEqual(values(file('f.csv', '0.1\n-2.5e3\n'), 'float *', dir), [Math.fround(0.1), -2500]);
  assert.throws(() => values(file('h.csv', 'time,value\n1,2\n'), 'int *', dir), /h\.csv line 1, field 1: 'time' is not a number/);
  assert.throws(() => values(file('r.csv', '1,2\n3,300\n'), 'uint8_t *', dir), /r\.csv line 2, field 2: 300 is out of range for uint8_t/);
  assert.throws(() => values(file('e.csv', '1,,2\n'), 'int *', dir), /e\.csv line 1, field 2 is empty/);
  assert.throws(() => values(file('z.csv', '\n\n'), 'int *', dir), /z\.csv holds no numbers/);
});

test('.json: a list, nested lists row by row, 64-bit integers exact', () => {
  assert.deepEqual(values(file('a.json', '[1, -2, 3]'), 'int8_t *', dir), [1, -2, 3]);
  assert.deepEqual(values(file('m.json', '[[1, 2], [3, 4]]'), 'short *', dir), [1, 2, 3, 4]);
  assert.deepEqual(values(file('big.json', '[9223372036854775807, -1]'), 'int64_t *', dir), [2n ** 63n - 1n, -1n]);
  assert.deepEqual(values(file('b.json', '[true, false]'), 'bool *', dir), [true, false]);
  assert.throws(() => values(file('s.json', '[1, "2"]'), 'int *', dir), /s\.json\[1\] is a string, not a number/);
  assert.throws(() => values(file('o.json', '{"x": [1]}'), 'int *', dir), /o\.json must hold a list of numbers/);
  assert.throws(() => values(file('t.json', '[1, 2'), 'int *', dir), /t\.json is not valid JSON/);
  assert.throws(() => values(file('i.json', '[1, 2.5]'), 'int *', dir), /i\.json element 1: 2\.5 is not an integer/);
  assert.throws(() => values(file('e.json', '[[]]'), 'int *', dir), /e\.json holds an empty list/);
});

test('.bin/.raw: little-endian elements of the signature\'s type', () => {
  const f = Buffer.alloc(12);
  [1.5, -2, 1e10].forEach((v, i) => f.writeFloatLE(v, i * 4));
  assert.deepEqual(values(file('x.bin', f), 'float *', dir), [1.5, -2, Math.fround(1e10)]);
  assert.deepEqual(values(file('x.raw', Buffer.from([0xff, 0x7f, 0x00, 0x80])), 'int16_t *', dir), [32767, -32768]);
  assert.throws(() => values(file('odd.bin', Buffer.alloc(10)), 'float *', dir),
    /odd\.bin has 10 bytes, not a whole number of 4-byte float elements \(truncated, or another element type\?\)/);
  assert.throws(() => values(file('empty.raw', Buffer.alloc(0)), 'float *', dir), /empty\.raw is empty/);
  assert.throws(() => values(file('b.bin', Buffer.from([0, 1, 2])), 'bool *', dir), /b\.bin: element 2 is 2, not a bool/);
});

test('.wav: float pointers get samples in [-1, 1], an integer pointer of the file\'s own sample type the samples as stored', () => {
  const wav = (name: string, channels: number, depth: string, samples: number[] | number[][]) => {
    const w = new wavefile.WaveFile();
    w.fromScratch(channels, 8000, depth, samples);
    return file(name, Buffer.from(w.toBuffer()));
  };
  const mono = wav('mono.wav', 1, '16', [0, 16384, -32768, 32767]);
  assert.deepEqual(values(mono, 'const float *', dir).map((v) => Math.round((v as number) * 1000) / 1000), [0, 0.5, -1, 1]);
  assert.deepEqual(values(mono, 'int16_t *', dir), [0, 16384, -32768, 32767]);
  assert.equal(argumentElementCount(mono, param('float *'), { baseDir: dir }), 4, 'the length after it is pre-filled');
  const stereo = wav('stereo.wav', 2, '16', [[0, 32767], [-32768, 0]]);
  assert.deepEqual(values(stereo, 'float *', dir).map((v) => Math.round(v as number)), [0, -1, 1, 0], 'channels interleaved');
  assert.throws(() => values(mono, 'int32_t *', dir), /mono\.wav holds 16-bit PCM samples; 'int32_t \*' cannot take them: use float \* \(scaled to \[-1, 1\]\) or int16_t \*/);
  const cut = file('cut.wav', readFileSync(join(dir, 'mono.wav')).subarray(0, 48));
  assert.throws(() => values(cut, 'float *', dir), /cut\.wav is truncated: its data chunk promises 8 bytes but 4 are there/);
});

test('unreadable files and unknown types are clear errors', () => {
  assert.throws(() => values('@missing.npy', 'float *', dir), /argument 'x': cannot read data file .*missing\.npy: no such file/);
  assert.throws(() => values(`@${dir}`, 'float *', dir), /unknown data file type/);
  assert.throws(() => values(file('x.txt', '1 2 3'), 'float *', dir), /x\.txt: unknown data file type '\.txt': use \.json, \.npy, \.csv, \.wav, or \.bin\/\.raw/);
  assert.throws(() => values('@ramp_f32.npy', 'void *'), /a pointer to void has no element type/);
});

test('element count of an argument without building it (for a length parameter)', () => {
  const count = (text: string, typeText: string, baseDir = data) => argumentElementCount(text, param(typeText), { baseDir });
  assert.equal(count('[1, 2, 3]', 'float *'), 3);
  assert.equal(count('[1, 2]*8', 'float *'), 16);
  assert.equal(count('"abc"', 'const char *'), 4, 'with the NUL');
  assert.equal(count('@grid_i32.npy', 'int *'), 6);
  assert.equal(count(file('n.csv', '1,2\n3\n'), 'int *', dir), 3);
  assert.equal(count(file('n.bin', Buffer.alloc(64)), 'double *', dir), 8);
  assert.equal(count('@0x82000000', 'float *'), undefined);
  assert.equal(count('null', 'float *'), undefined);
  assert.equal(count('5', 'int'), undefined);
  assert.throws(() => count('[1, x]', 'int *'), /element 1: 'x' is not a number/);
  // sixteen million elements are counted, not made
  const big = measureArgument('[1]*16777216', param('const int32_t *'));
  assert.deepEqual(big.kind === 'array' && [big.elements, big.bytes], [16777216, 64 * 1024 * 1024]);
});
