/**
 * Which parts of an argument image a call sends: all of it, unless the last read-back says the
 * device holds some 4 KiB pieces byte for byte already.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { changedRanges } from '../../extension/session/changed-ranges.js';

const image = (n: number, fill = 1) => Buffer.alloc(n, fill);

test('nothing known: the whole image', () => {
  assert.deepEqual(changedRanges(0x1000, image(10_000), null), [[0, 10_000]]);
});

test('pieces the device holds are left out; the rest is coalesced', () => {
  const img = image(16_384);
  img.fill(2, 0, 4096); // the first piece differs from what is known
  const known = { addr: 0x1000, bytes: image(16_384) };
  assert.deepEqual(changedRanges(0x1000, img, known), [[0, 4096]]);
  img.fill(2, 12_288, 12_289); // one byte of the last piece
  assert.deepEqual(changedRanges(0x1000, img, known), [[0, 4096], [12_288, 16_384]]);
});

test('what is known covers only part of the image, at an offset: the rest is sent', () => {
  const img = image(12_288);
  // known: the image's second and third pieces (an output array read back after an input)
  assert.deepEqual(changedRanges(0x1000, img, { addr: 0x2000, bytes: image(8192) }), [[0, 4096]]);
  // known but a piece straddles its end: sent
  assert.deepEqual(changedRanges(0x1000, img, { addr: 0x2000, bytes: image(6000) }), [[0, 4096], [8192, 12_288]]);
  // known lies elsewhere entirely
  assert.deepEqual(changedRanges(0x1000, img, { addr: 0x9000, bytes: image(8192) }), [[0, 12_288]]);
});

test('a short last piece is compared like the others', () => {
  assert.deepEqual(changedRanges(0, image(5000), { addr: 0, bytes: image(5000) }), []);
  assert.deepEqual(changedRanges(0, image(5000), { addr: 0, bytes: image(5000, 3) }), [[0, 5000]]);
});
