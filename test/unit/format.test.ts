// The one formatter of values and call results (extension/session/format.ts) and the array files
// (extension/session/export.ts): float32 printed as float32, labels that say what was counted.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import fc from 'fast-check';

import { arrayFile, csvText, npyBytes } from '../../extension/session/export.js';
import {
  callHeadline, describeCall, describeCounter, describeResult, formatArray, formatFloat, measurementParts, resultJson,
} from '../../extension/session/format.js';
import type { CallResult } from '../../extension/session/types.js';
import { DeviceCap } from '../../extension/protocol/constants.js';
import { decimalToFloat32, parseFloatText } from '../../toolchain/args.js';

const f32 = fc.float({ noNaN: true, noDefaultInfinity: true }).map((x) => Math.fround(x));

test('property: the float32 text reads back to the same float32, and no shorter text does', () => {
  fc.assert(fc.property(f32, (x) => {
    const text = formatFloat(x, 32);
    assert.ok(Object.is(parseFloatText(text, 32, 'float'), x), `${x} → '${text}'`);
    assert.ok(Object.is(Math.fround(Number(text)), x), `Math.fround('${text}') is ${x}`);
    const digits = text.replace(/^-/, '').replace(/e.*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length;
    if (digits > 1) {
      const shorter = x.toPrecision(digits - 1);
      assert.notEqual(decimalToFloat32(shorter), x, `${shorter} is shorter and reads back to ${x} too`);
    }
  }), { numRuns: 20_000 });
});

test('float32 values print without the double widening noise', () => {
  assert.equal(formatFloat(Math.fround(0.049), 32), '0.049');
  assert.equal(String(Math.fround(0.049)), '0.04899999871850014', 'what a double print shows');
  assert.equal(formatFloat(Math.fround(1 / 3), 32), '0.33333334');
  assert.equal(formatFloat(Math.fround(3.4028234663852886e38), 32), '3.4028235e+38');
  assert.equal(formatFloat(2 ** -149, 32), '1e-45');
  assert.equal(formatFloat(0.049, 64), '0.049');
  assert.deepEqual([10, 110, 999, 4096, 1e6].map((x) => formatFloat(x, 32)), ['10', '110', '999', '4096', '1000000'], 'whole numbers as written, not 1.1e+2');
  assert.equal(formatFloat(Math.fround(1.5e-7), 32), '1.5e-7');
  assert.equal(formatArray('f32', [Math.fround(0.1), Math.fround(-2.5), NaN, -Infinity]), '[0.1, -2.5, nan, -inf]');
  assert.equal(formatArray('i32', [1, 2, 3, 4], 2), '[1, 2, … 2 more]');
});

function result(over: Partial<CallResult> = {}): CallResult {
  return {
    id: 1, function: 'fir', file: '/w/dsp.c', args: [{ name: 'x', type: 'float *', display: '[0.049, 2]' }, { name: 'n', type: 'int', display: '2' }],
    returnValue: Math.fround(0.049), returnDisplay: '0.049', count: 1234n, counter: 'instructions', timeUs: 1,
    hostMs: 12.34, output: '', arrays: { x: [Math.fround(0.049), 2] }, kinds: { return: 'f32', arrays: { x: 'f32' } },
    fault: null, overrun: null, at: '2026-01-01T00:00:00.000Z', ...over,
  };
}

test('what the device counted is labelled with what it is, and only that', () => {
  assert.deepEqual(measurementParts(result()), ['1,234 instructions'], 'icount: instructions; virtual time is not shown');
  assert.deepEqual(measurementParts(result({ counter: 'host-ticks', count: 55_399n, timeUs: 26 })), ['26 µs wall time'],
    'host clock ticks are never called cycles');
  assert.deepEqual(measurementParts(result({ counter: 'cycles', count: 1234n, timeUs: 3400 })), ['1,234 cycles', '3.4 ms']);
  assert.equal(callHeadline(result()), 'fir([0.049, 2], 2) → 0.049  (1,234 instructions)');
  assert.match(describeResult(result({ counter: 'host-ticks', timeUs: 26 })), /^ {2}ran {6}26 µs wall time$/m);
  assert.doesNotMatch(describeResult(result({ counter: 'host-ticks' })), /cycles|instructions/);
});

test('--json: float32 as float32, the count under the name of what it counts', () => {
  const json = resultJson(result());
  assert.match(json, /"return":0\.049,/);
  assert.match(json, /"arrays":\{"x":\[0\.049,2\]\}/);
  assert.deepEqual(JSON.parse(json), {
    function: 'fir', return: 0.049, cycles: null, instructions: '1234', timeUs: null, hostMs: 12.3, output: '', arrays: { x: [0.049, 2] }, fault: null, overrun: null,
    kinds: { return: 'f32', arrays: { x: 'f32' } },
  });
  const board = JSON.parse(resultJson(result({ counter: 'cycles', timeUs: 5, returnValue: 2n ** 63n, kinds: { return: 'u64', arrays: { x: 'f32' } } })));
  assert.equal(board.cycles, '1234');
  assert.equal(board.instructions, null);
  assert.equal(board.timeUs, 5);
  assert.equal(board.return, '9223372036854775808', '64-bit integers as decimal text');
  const odd = JSON.parse(resultJson(result({ arrays: { x: [NaN, -Infinity, -0] } })));
  assert.deepEqual(odd.arrays.x, ['nan', '-inf', -0], 'non-finite floats spelled as arguments take them');
});

test('the output channel shows 64 values and says how to get all of them; the CLI prints all', () => {
  const many = Array.from({ length: 1000 }, (_, i) => Math.fround(i / 10));
  const r = result({ arrays: { x: many } });
  const channel = describeCall(r, { maxItems: 64, cutHint: 'all: Copy or Save' });
  assert.match(channel, /x = \[0, 0\.1, 0\.2, .*, 6\.3, … 936 more\] {2}\(all: Copy or Save\)/);
  assert.match(describeResult(r), /99\.9\]$/m);
});

test('INFO on the emulator names its counter and says it models no cache', () => {
  const emu = { capabilities: DeviceCap.Emulator, cpuHz: 2_098_000_000, cacheLine: 0 };
  assert.match(describeCounter(emu).counter, /host's clock ticks at 2098 MHz .*not the P4's cycles/);
  assert.match(describeCounter(emu).cache, /none \(the emulator models no cache\)/);
  assert.match(describeCounter({ ...emu, capabilities: DeviceCap.Emulator | DeviceCap.ICount }).counter, /^instructions executed/);
  assert.equal(describeCounter({ capabilities: 0, cpuHz: 360_000_000, cacheLine: 64 }).counter, 'CPU cycles at 360 MHz');
});

/** The .npy header as NumPy's format spec defines it (version 1.0). */
function readNpy(bytes: Buffer): { header: string; data: Buffer } {
  assert.equal(bytes.subarray(0, 6).toString('latin1'), '\x93NUMPY');
  assert.deepEqual([bytes[6], bytes[7]], [1, 0]);
  const len = bytes.readUInt16LE(8);
  assert.equal((10 + len) % 64, 0, 'the data starts on a 64-byte boundary');
  const header = bytes.subarray(10, 10 + len).toString('latin1');
  assert.ok(header.endsWith('\n'));
  return { header: header.trim(), data: bytes.subarray(10 + len) };
}

test('.npy: the header NumPy reads and the exact little-endian elements', () => {
  const values = [Math.fround(0.049), -1.5, 3.25];
  const { header, data } = readNpy(npyBytes('f32', values));
  assert.equal(header, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }");
  assert.deepEqual([0, 4, 8].map((o) => data.readFloatLE(o)), values);
  assert.match(readNpy(npyBytes('i64', [-1n, 2n])).header, /'descr': '<i8'.*'shape': \(2,\)/);
  assert.match(readNpy(npyBytes('u8', [])).header, /'descr': '\|u1'.*'shape': \(0,\)/);
  assert.equal(readNpy(npyBytes('i16', [-2, 7])).data.toString('hex'), 'feff0700');

  // NumPy itself, when this machine has it, reads the same values back
  if (spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0) {
    const dir = mkdtempSync(join(tmpdir(), 'p4jit-npy-'));
    writeFileSync(join(dir, 'a.npy'), arrayFile('npy', 'x', 'f32', values));
    const out = execFileSync('python3', ['-c', `import numpy; a = numpy.load(${JSON.stringify(join(dir, 'a.npy'))}); print(a.dtype, a.shape, repr(a.tolist()))`], { encoding: 'utf8' });
    assert.equal(out.trim(), `float32 (3,) [${values.join(', ')}]`);
  }
});

test('.csv and .json: one value a line under the name, a JSON list; float32 as float32', () => {
  assert.equal(csvText('y', 'f32', [Math.fround(0.049), NaN]), 'y\n0.049\nnan\n');
  assert.equal(arrayFile('json', 'y', 'f32', [Math.fround(0.049), 1]).toString(), '[0.049,1]\n');
  assert.equal(arrayFile('csv', 'b', 'bool', [true, false]).toString(), 'b\ntrue\nfalse\n');
});
