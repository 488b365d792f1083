/**
 * The host's frame decoder under random input (fast-check): random byte streams, and valid frame
 * streams with random damage (flipped, dropped, duplicated and inserted bytes), fed in random
 * splits. It must never throw, never yield a frame that was not in the stream with a checksum
 * that verifies, never hold more than one frame's worth of bytes, and find every valid frame that
 * follows the garbage or that the damage left intact.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { encodeFrame, FrameDecoder, type Frame } from '../../extension/protocol/codec.js';
import { CHECKSUM_SIZE, HEADER_SIZE, MAGIC0, MAGIC1 } from '../../extension/protocol/constants.js';

/** The decoder's limit in these tests: small, so that "bounded" means something. */
const MAX_PAYLOAD = 512;
const MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + CHECKSUM_SIZE;
const RUNS = 400;

interface FrameSpec { cmd: number; flags: number; payload: Uint8Array }

// size 'max': lengths spread up to maxLength (fast-check's default keeps arrays to a few items)
/** Payloads with a fair share of magic bytes, so that false starts inside frames get exercised. */
const payloadByte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(MAGIC0, MAGIC1, 0));
const frameSpec: fc.Arbitrary<FrameSpec> = fc.record({
  cmd: fc.integer({ min: 0, max: 255 }),
  flags: fc.integer({ min: 0, max: 3 }),
  payload: fc.array(payloadByte, { maxLength: 120, size: 'max' }).map((a) => Uint8Array.from(a)),
});
const garbage = fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(MAGIC0, MAGIC1)), { maxLength: 300, size: 'max' }).map((a) => Uint8Array.from(a));
const splits = fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 20 });

interface Fed { frames: Frame[]; maxPending: number }

/** Feeds the stream in chunks whose sizes cycle through `sizes`; checks the bound after each. */
function feed(stream: Uint8Array, sizes: number[], decoder = new FrameDecoder(MAX_PAYLOAD)): Fed {
  const out: Fed = { frames: [], maxPending: 0 };
  for (let off = 0, i = 0; off < stream.length; i++) {
    const n = sizes[i % sizes.length];
    for (const ev of decoder.push(stream.subarray(off, off + n))) if (ev.kind === 'frame') out.frames.push(ev.frame);
    out.maxPending = Math.max(out.maxPending, decoder.pending);
    off += n;
  }
  return out;
}

/** Every yielded frame was in the stream, byte for byte, checksum included. */
function assertAllGenuine(stream: Uint8Array, frames: Frame[]): void {
  const s = Buffer.from(stream);
  for (const f of frames) {
    assert.ok(s.indexOf(encodeFrame(f.cmd, f.flags, f.payload)) >= 0, `a frame (cmd ${f.cmd}, ${f.payload.length} bytes) that is not in the stream`);
  }
}

const encode = (specs: FrameSpec[]) => specs.map((f) => encodeFrame(f.cmd, f.flags, f.payload));
/** Zeros after the test stream: any frame the decoder started still completes (and is judged). */
const FLUSH = new Uint8Array(MAX_FRAME);
const same = (a: Frame, b: FrameSpec) => a.cmd === b.cmd && a.flags === b.flags && Buffer.from(b.payload).equals(a.payload);

test('random byte streams in random splits: no throw, only genuine frames, bounded pending bytes', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 4000, size: 'max' }), splits, (stream, sizes) => {
    const { frames, maxPending } = feed(stream, sizes);
    assertAllGenuine(stream, frames);
    assert.ok(maxPending < MAX_FRAME, `held ${maxPending} bytes`);
  }), { numRuns: RUNS });
});

test('random bytes made of magic bytes and lengths (the worst garbage) stay bounded too, also with the default limit', () => {
  const nasty = fc.array(fc.constantFrom(MAGIC0, MAGIC1, 0x00, 0xff, 0x01, 0x02), { maxLength: 3000, size: 'max' }).map((a) => Uint8Array.from(a));
  fc.assert(fc.property(nasty, splits, (stream, sizes) => {
    const small = feed(stream, sizes);
    assertAllGenuine(stream, small.frames);
    assert.ok(small.maxPending < MAX_FRAME);
    const big = feed(stream, sizes, new FrameDecoder());
    assertAllGenuine(stream, big.frames);
    assert.ok(big.maxPending <= stream.length);
  }), { numRuns: RUNS });
});

test('valid frames after garbage are all found, in order, whatever the split', () => {
  fc.assert(fc.property(garbage, fc.array(frameSpec, { minLength: 1, maxLength: 6 }), splits, (junk, specs, sizes) => {
    const stream = Buffer.concat([junk, ...encode(specs), FLUSH]);
    const { frames, maxPending } = feed(stream, sizes);
    assertAllGenuine(stream, frames);
    assert.ok(maxPending < MAX_FRAME);
    const tail = frames.slice(-specs.length);
    assert.equal(tail.length, specs.length, `found ${frames.length} frames, sent ${specs.length} after ${junk.length} bytes of garbage`);
    specs.forEach((spec, i) => assert.ok(same(tail[i], spec), `frame ${i} after the garbage`));
  }), { numRuns: RUNS });
});

type Damage = { at: number; kind: 'flip' | 'drop' | 'dup' | 'insert'; bit: number; byte: number };
const damage: fc.Arbitrary<Damage> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('flip', 'drop', 'dup', 'insert'),
  bit: fc.integer({ min: 0, max: 7 }),
  byte: fc.integer({ min: 0, max: 255 }),
});

test('damaged frame streams: no throw, only genuine frames, bounded, and every frame the damage missed is found', () => {
  fc.assert(fc.property(fc.array(frameSpec, { minLength: 1, maxLength: 8 }), fc.array(damage, { minLength: 1, maxLength: 4 }), splits, (specs, damages, sizes) => {
    const encoded = encode(specs);
    const bytes = [...Buffer.concat(encoded)];
    // which frame each byte belongs to; a damaged frame is marked
    const owner = encoded.flatMap((f, i) => Array<number>(f.length).fill(i));
    const hit = new Set<number>();
    for (const d of damages) {
      const at = d.at % bytes.length;
      hit.add(owner[at]);
      if (d.kind === 'flip') bytes[at] ^= 1 << d.bit;
      else if (d.kind === 'drop') { bytes.splice(at, 1); owner.splice(at, 1); } else if (d.kind === 'dup') { bytes.splice(at, 0, bytes[at]); owner.splice(at, 0, owner[at]); } else { bytes.splice(at, 0, d.byte); owner.splice(at, 0, owner[at]); }
      if (bytes.length === 0) return;
    }
    const stream = Buffer.concat([Uint8Array.from(bytes), FLUSH]);
    const { frames, maxPending } = feed(stream, sizes);
    assertAllGenuine(stream, frames);
    assert.ok(maxPending < MAX_FRAME);
    // the intact frames are found, in order (damage may also leave a valid-looking frame: a
    // dropped and a duplicated byte can cancel out, which is the checksum's known limit)
    let next = 0;
    for (const [i, spec] of specs.entries()) {
      if (hit.has(i)) continue;
      while (next < frames.length && !same(frames[next], spec)) next++;
      assert.ok(next < frames.length, `intact frame ${i} of ${specs.length} was not found (damaged: ${[...hit].join(', ')})`);
      next++;
    }
  }), { numRuns: RUNS });
});
