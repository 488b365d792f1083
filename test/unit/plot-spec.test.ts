// The plot spec checker: what the notebook renderer and the panel accept, and the errors for the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlotSpec, PlotSpecError, PLOT_LIMITS } from '../../webview/plot/spec.js';

test('line plots take index series, typed arrays and null gaps', () => {
  const spec = parsePlotSpec({ kind: 'line', series: [{ name: 'in', y: new Float32Array([1, 2.5]) }, { y: [3, null] }] });
  assert.equal(spec.kind, 'line');
  assert.deepEqual(spec.kind === 'line' && spec.series, [{ name: 'in', y: [1, 2.5] }, { name: 'series 2', y: [3, Number.NaN] }]);
});

test('scatter plots need x for every series, of the same length', () => {
  assert.throws(() => parsePlotSpec({ kind: 'scatter', series: [{ y: [1] }] }), /series\[0\]\.x: a scatter plot needs x values/);
  assert.throws(() => parsePlotSpec({ kind: 'line', series: [{ x: [1, 2], y: [1] }] }), /series\[0\]: 2 x values but 1 y values/);
});

test('image grids check sizes and labels', () => {
  const ok = parsePlotSpec({ kind: 'images', width: 2, height: 2, images: [[0, 1, 2, 3]], labels: [7] });
  assert.deepEqual(ok, { kind: 'images', title: undefined, width: 2, height: 2, images: [[0, 1, 2, 3]], labels: ['7'], columns: undefined });
  assert.throws(() => parsePlotSpec({ kind: 'images', width: 2, height: 2, images: [[0, 1, 2]] }), /images\[0\]: 3 values, but 2 × 2 = 4 were expected/);
  assert.throws(() => parsePlotSpec({ kind: 'images', width: 2, height: 2, images: [[0, 1, 2, 3]], labels: [] }), /labels: 0 labels for 1 images/);
  assert.throws(() => parsePlotSpec({ kind: 'images', width: 0, height: 2, images: [] }), /width: a positive whole number/);
});

test('everything else is refused with the field that is wrong', () => {
  const cases: Array<[unknown, RegExp]> = [
    [null, /the plot: an object was expected/],
    [[], /the plot: an object was expected/],
    [{ kind: 'pie' }, /kind: one of "line", "scatter", "images" was expected, got "pie"/],
    [{ kind: 'line', series: [] }, /series: give at least one series/],
    [{ kind: 'line', series: 'y' }, /series: an array was expected/],
    [{ kind: 'line', title: 3, series: [{ y: [1] }] }, /title: a string was expected/],
    [{ kind: 'line', series: Array.from({ length: PLOT_LIMITS.series + 1 }, () => ({ y: [1] })) }, /at most 16 series/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => parsePlotSpec(value), (e: unknown) => e instanceof PlotSpecError && message.test(e.message));
  }
});
