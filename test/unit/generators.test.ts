/** Generators in argument text: counts known up front, values exact, seeded, checked against the C type. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ArgumentError, argumentElementCount, pairedLength, parseArgument } from '../../toolchain/args.js';
import { parseGenerator } from '../../toolchain/generators.js';
import { findFunction } from '../../toolchain/signature.js';

const sig = await findFunction('int f(const float *x, int n, int16_t *q, double *d, uint8_t *u, int64_t *w) { return 0; }', 'f');
const [x, , q, d, u, w] = sig.params;
const values = (text: string, param = x) => {
  const a = parseArgument(text, param);
  assert.equal(a.kind, 'array');
  return a.kind === 'array' ? a.values : [];
};

test('range, linspace, zeros, ones: the values Python and NumPy give', () => {
  assert.deepEqual(values('range(5)', d), [0, 1, 2, 3, 4]);
  assert.deepEqual(values('range(1, 10, 3)', d), [1, 4, 7]);
  assert.deepEqual(values('range(5, 0, -2)', d), [5, 3, 1]);
  assert.deepEqual(values('linspace(0, 1, 5)', d), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(values('zeros(3)', q), [0, 0, 0]);
  assert.deepEqual(values('ones(2)', w), [1n, 1n]);
});

test('sine: amplitude, phase, float32 rounding for float, nearest integer for int16_t', () => {
  const s = values('sine(8, 1, 8)') as number[];
  assert.equal(s.length, 8);
  assert.equal(s[2], Math.fround(1));
  assert.equal(s[1], Math.fround(Math.sin(Math.PI / 4)));
  assert.deepEqual(values('sine(4, 1, 4, 32767)', q), [0, 32767, 0, -32767]);
  assert.throws(() => parseArgument('sine(4, 1, 4, 40000)', q), (e: unknown) => e instanceof ArgumentError && /out of range for int16_t.*amplitude/.test((e as Error).message));
});

test('noise and random: seeded, repeatable, within their bounds', () => {
  const a = values('noise(1000, 0.5, seed=3)', d) as number[];
  assert.deepEqual(values('noise(1000, 0.5, seed=3)', d), a, 'the same seed, the same values');
  assert.notDeepEqual(values('noise(1000, 0.5, seed=4)', d), a);
  assert.ok(a.every((v) => v >= -0.5 && v <= 0.5));
  assert.ok(Math.min(...a) < -0.4 && Math.max(...a) > 0.4, 'it spans its range');
  const r = values('random(500, seed=1)', d) as number[];
  assert.ok(r.every((v) => v >= 0 && v < 1));
  assert.deepEqual(values('random(3, seed=9)', u).every((v) => v === 0 || v === 1), true, 'rounded for uint8_t');
});

test('the count is known without making the values, and fills a paired length', () => {
  assert.equal(parseGenerator('sine(16777216, 1, 48000)').count, 16777216);
  assert.equal(argumentElementCount('sine(4096, 440, 48000)', x), 4096);
  assert.equal(pairedLength(sig.params, 1, ['range(64)']), '64');
});

test('bad generator calls name what is wrong', () => {
  const err = (text: string, re: RegExp) => assert.throws(() => parseArgument(text, x), (e: unknown) => e instanceof ArgumentError && re.test((e as Error).message), text);
  err('saw(8)', /no generator 'saw': use range/);
  err('sine(8, 1)', /sine needs count, frequency, rate/);
  err('sine(8, 1, 0)', /sample rate must be positive/);
  err('range(0)', /count must be a whole number from 1/);
  err('range(2.5)', /range takes whole numbers/);
  err('noise(8, seed=x)', /seed 'x' is not a number/);
  err('noise(8, speed=2)', /no parameter 'speed'/);
  err('ones(1, 2)', /takes at most 1 values/);
  err('sine(1e9, 1, 8)', /from 1 to 16777216/);
});
