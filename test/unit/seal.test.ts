/**
 * SEALED frames on the host: byte-exact against an independent CRC-32 (Python's zlib), opened
 * intact, and every kind of damage the seed's 16-bit sum lets through is refused by the CRC.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32 } from 'node:zlib';

import fc from 'fast-check';

import { checksum, FrameDecoder, type DecodeEvent, type Frame } from '../../extension/protocol/codec.js';
import { Cmd, Flag } from '../../extension/protocol/constants.js';
import { encodeSealed, isPlainSealedRefusal, unseal } from '../../extension/protocol/seal.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');
const decodeOne = (bytes: Uint8Array): Frame | undefined => {
  const ev = new FrameDecoder().push(bytes).find((e): e is Extract<DecodeEvent, { kind: 'frame' }> => e.kind === 'frame');
  return ev?.frame;
};

test('a sealed PING, byte-exact (CRC-32 from an independent implementation)', () => {
  assert.equal(hex(encodeSealed(Cmd.Ping, 1, Buffer.from('hi'))), 'a5 5a 70 00 0a 00 00 00 01 01 00 00 68 69 bc 02 c4 74 42 04');
  // the device's reply: flags 01 outside, the same inner command and sequence number
  const reply = decodeOne(Buffer.from('a55a70010a000000010100006869 7cdd4ab5 a504'.replace(/ /g, ''), 'hex'));
  assert.ok(reply);
  const opened = unseal(reply);
  assert.ok(opened.ok);
  assert.deepEqual({ cmd: opened.frame.cmd, flags: opened.frame.flags, seq: opened.seq, payload: opened.frame.payload.toString() },
    { cmd: Cmd.Ping, flags: Flag.Ok, seq: 1, payload: 'hi' });
});

test('any command, sequence number and payload survive sealing and opening', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 600 }), (cmd, seq, payload) => {
    const f = decodeOne(encodeSealed(cmd, seq, payload));
    assert.ok(f && f.cmd === Cmd.Sealed);
    const opened = unseal(f);
    assert.ok(opened.ok);
    assert.equal(opened.frame.cmd, cmd);
    assert.equal(opened.seq, seq);
    assert.deepEqual(Buffer.from(opened.frame.payload), Buffer.from(payload));
  }));
});

test('damage that keeps the 16-bit sum (one byte up, another down) gets past the sum, never past the CRC', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (payload, a, b, d) => {
    const frame = Buffer.from(encodeSealed(Cmd.WriteMem, 9, payload));
    const body = frame.length - 8 - 2; // the payload bytes (seal header, data, CRC)
    const i = 8 + (a % body);
    const j = 8 + (b % body);
    fc.pre(i !== j && frame[i] + d <= 255 && frame[j] - d >= 0);
    frame[i] += d;
    frame[j] -= d;
    assert.equal(checksum(frame.subarray(0, frame.length - 2)), frame.readUInt16LE(frame.length - 2), 'the sum still matches');
    const f = decodeOne(frame);
    assert.ok(f, 'the decoder takes it as a valid frame');
    assert.equal(unseal(f).ok, false, 'the CRC refuses it');
  }), { numRuns: 2000 });
});

test('a shifted frame whose sum matches by chance (a byte lost, another doubled) is refused', () => {
  let sumPassed = 0;
  fc.assert(fc.property(fc.uint8Array({ minLength: 8, maxLength: 64 }), fc.nat(), fc.nat(), (payload, a, b) => {
    const frame = encodeSealed(Cmd.WriteMem, 3, payload);
    const n = frame.length - 2 - 8;
    const drop = 8 + (a % n);
    const dup = 8 + (b % n);
    fc.pre(drop !== dup);
    const bytes = [...frame];
    const doubled = bytes[dup];
    bytes.splice(drop, 1);
    bytes.splice(dup > drop ? dup - 1 : dup, 0, doubled);
    const shifted = Buffer.from(bytes);
    fc.pre(!shifted.equals(frame)); // a run of equal bytes shifted within itself is no damage
    const f = decodeOne(shifted);
    if (!f) return; // the sum caught it
    sumPassed++;
    assert.equal(unseal(f).ok, false);
  }), { numRuns: 3000 });
  assert.ok(sumPassed > 0, 'some shifted frames kept their sum (a lost and a doubled equal byte do)');
});

test("the device's plain refusal of a damaged sealed frame is told from a sealed reply", () => {
  const refusal = decodeOne(Buffer.from('a55a700204000000010000007601', 'hex'));
  assert.ok(refusal);
  assert.equal(isPlainSealedRefusal(refusal), true);
  const sealedError = decodeOne(encodeSealedReply());
  assert.ok(sealedError);
  assert.equal(isPlainSealedRefusal(sealedError), false);
  const opened = unseal(sealedError);
  assert.ok(opened.ok);
  assert.deepEqual([opened.frame.cmd, opened.frame.flags, opened.seq, opened.frame.payload.readUInt32LE(0)], [Cmd.Free, Flag.Error, 5, 4]);
});

function encodeSealedReply(): Buffer {
  // a sealed error reply: flags 02, inner FREE, status NOT_ALLOCATED (4)
  const f = Buffer.from(encodeSealed(Cmd.Free, 5, Buffer.from([4, 0, 0, 0])));
  f[3] = Flag.Error; // flags are part of the CRC: recompute both checks as the device does
  const crcAt = f.length - 2 - 4;
  f.writeUInt32LE(crc32(f.subarray(0, crcAt)) >>> 0, crcAt);
  f.writeUInt16LE(checksum(f.subarray(0, f.length - 2)), f.length - 2);
  return f;
}
