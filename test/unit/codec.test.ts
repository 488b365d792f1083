import assert from 'node:assert/strict';
import { test } from 'node:test';

import fc from 'fast-check';

import { checksum, encodeFrame, FrameDecoder, type DecodeEvent } from '../../extension/protocol/codec.js';
import { Cmd, Flag } from '../../extension/protocol/constants.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');
const frames = (evs: DecodeEvent[]) => evs.filter((e) => e.kind === 'frame').map((e) => (e as Extract<DecodeEvent, { kind: 'frame' }>).frame);

test("the seed's example PING frame, byte-exact", () => {
  const req = encodeFrame(Cmd.Ping, Flag.Request, Buffer.from('cafebabe', 'hex'));
  assert.equal(hex(req), 'a5 5a 01 00 04 00 00 00 ca fe ba be 44 04');
  const ok = encodeFrame(Cmd.Ping, Flag.Ok, Buffer.from('cafebabe', 'hex'));
  assert.equal(hex(ok), 'a5 5a 01 01 04 00 00 00 ca fe ba be 45 04');
});

test('an error reply carries flags 02 and a u32 code', () => {
  const err = encodeFrame(0x77, Flag.Error, Buffer.from([2, 0, 0, 0]));
  assert.equal(hex(err), 'a5 5a 77 02 04 00 00 00 02 00 00 00 7e 01');
  assert.equal(checksum(err.subarray(0, 12)), 0x017e);
});

test('decodes the seed example reply', () => {
  const d = new FrameDecoder();
  const [f] = frames(d.push(Buffer.from('a55a010104000000cafebabe4504', 'hex')));
  assert.deepEqual({ cmd: f.cmd, flags: f.flags, payload: f.payload.toString('hex') }, { cmd: 1, flags: 1, payload: 'cafebabe' });
});

test('resynchronises on A5 A5 5A and skips garbage', () => {
  const d = new FrameDecoder();
  const good = encodeFrame(Cmd.HeapInfo, Flag.Ok, Buffer.alloc(16, 3));
  const evs = d.push(Buffer.concat([Buffer.from([0x00, 0xa5, 0xa5]), good.subarray(1)]));
  const fs = frames(evs);
  assert.equal(fs.length, 1);
  assert.equal(fs[0].cmd, Cmd.HeapInfo);
  assert.ok(evs.some((e) => e.kind === 'garbage'));
});

test('an oversized length is reported and does not swallow the next frame', () => {
  const d = new FrameDecoder(1024);
  const bogus = Buffer.from([0xa5, 0x5a, 0x21, 0x01, 0xff, 0xff, 0xff, 0x7f]);
  const next = encodeFrame(Cmd.Ping, Flag.Ok, Buffer.from('ok'));
  const evs = d.push(Buffer.concat([bogus, next]));
  assert.ok(evs.some((e) => e.kind === 'too-large' && e.length === 0x7fffffff));
  assert.equal(frames(evs)[0].payload.toString(), 'ok');
});

test('property: random frames round-trip through any split of the stream', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ cmd: fc.integer({ min: 0, max: 255 }), flags: fc.integer({ min: 0, max: 2 }), payload: fc.uint8Array({ maxLength: 300 }) }), { minLength: 1, maxLength: 8 }),
      fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
      (list, cuts) => {
        const stream = Buffer.concat(list.map((f) => encodeFrame(f.cmd, f.flags, f.payload)));
        const d = new FrameDecoder();
        const got = [];
        let pos = 0;
        for (let i = 0; pos < stream.length; i++) {
          const n = cuts[i % cuts.length];
          got.push(...frames(d.push(stream.subarray(pos, pos + n))));
          pos += n;
        }
        assert.equal(got.length, list.length);
        got.forEach((f, i) => {
          assert.equal(f.cmd, list[i].cmd);
          assert.equal(f.flags, list[i].flags);
          assert.deepEqual([...f.payload], [...list[i].payload]);
        });
        assert.equal(d.pending, 0);
      },
    ),
  );
});

test('property: garbage between frames never hides or invents a frame', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ maxLength: 40 }).map((g) => g.map((b) => (b === 0xa5 ? 0 : b))), { minLength: 2, maxLength: 5 }),
      fc.uint8Array({ minLength: 1, maxLength: 50 }),
      (garbage, payload) => {
        const frame = encodeFrame(Cmd.ReadMem, Flag.Ok, payload);
        const stream = Buffer.concat(garbage.flatMap((g, i) => (i ? [frame, g] : [g])));
        const got = frames(new FrameDecoder().push(stream));
        assert.equal(got.length, garbage.length - 1);
        for (const f of got) assert.deepEqual([...f.payload], [...payload]);
      },
    ),
  );
});

test('property: every single-byte corruption is detected', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (payload, at, xor) => {
      const frame = encodeFrame(Cmd.ReadMem, Flag.Ok, payload);
      const i = at % frame.length;
      frame[i] ^= xor;
      const got = frames(new FrameDecoder().push(frame));
      // a flip in the magic drops the frame; anywhere else the checksum catches it, or a longer
      // length leaves the decoder waiting for bytes that never come
      assert.equal(got.length, 0, `corruption at byte ${i} went unnoticed`);
    }),
  );
});

test('property: the word-at-a-time checksum equals the plain byte sum, at any alignment', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 0, max: 7 }), (bytes, offset) => {
      const backing = Buffer.alloc(bytes.length + offset);
      backing.set(bytes, offset);
      const view = backing.subarray(offset);
      const plain = [...bytes].reduce((s, b) => s + b, 0) & 0xffff;
      assert.equal(checksum(view), plain);
    }),
  );
  assert.equal(checksum(Buffer.alloc(1 << 20, 0xff)), (0xff * (1 << 20)) & 0xffff);
});
