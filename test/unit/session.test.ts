/**
 * SESSION frames on the host: the key and MAC as an independent HMAC (Python's hmac) computes
 * them, opened intact, and refused with any byte changed or under another key. The firmware's
 * side of the same frames: firmware/test/test_session.c; both together: test/e2e/session.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';

import fc from 'fast-check';

import { checksum, FrameDecoder, type DecodeEvent, type Frame } from '../../extension/protocol/codec.js';
import { Cmd, Flag } from '../../extension/protocol/constants.js';
import { encodeSession, openSession, sessionKey } from '../../extension/protocol/session.js';

const decodeOne = (bytes: Uint8Array): Frame | undefined => {
  const ev = new FrameDecoder().push(bytes).find((e): e is Extract<DecodeEvent, { kind: 'frame' }> => e.kind === 'frame');
  return ev?.frame;
};
/** The device's reply to a request: the same frame with flags 01, its MAC and sum made anew. */
function asReply(key: Buffer, cmd: number, seq: number, counter: number, payload: Buffer): Frame {
  const out = encodeSession(key, cmd, seq, counter, payload);
  out[3] = Flag.Ok;
  const end = out.length - 2 - 16;
  createHmac('sha256', key).update(out.subarray(0, end)).digest().copy(out, end, 0, 16);
  out.writeUInt16LE(checksum(out.subarray(0, out.length - 2)), out.length - 2);
  return decodeOne(out)!;
}
function pyHmac(key: Buffer, msg: Buffer): Buffer {
  const code = 'import hmac,hashlib,sys;k,m=(bytes.fromhex(a) for a in sys.argv[1:]);sys.stdout.write(hmac.new(k,m,hashlib.sha256).hexdigest())';
  return Buffer.from(execFileSync('python3', ['-c', code, key.toString('hex'), msg.toString('hex')], { encoding: 'utf8' }), 'hex');
}

test('the session key and a request MAC match an independent HMAC-SHA256', () => {
  const devNonce = Buffer.alloc(32, 0x11);
  const hostNonce = Buffer.alloc(16, 0x22);
  const key = sessionKey('s3cr3t', devNonce, hostNonce);
  assert.deepEqual(key, pyHmac(Buffer.from('s3cr3t'), Buffer.concat([Buffer.from('p4jit-session'), devNonce, hostNonce])));
  const frame = encodeSession(key, Cmd.HeapInfo, 5, 7, Buffer.alloc(0));
  // a5 5a 71 00 | len 24 | inner 40, seq 05, 00 00, counter 7 | MAC(16) | sum(2)
  assert.equal(frame.subarray(0, 16).toString('hex'), 'a55a710018000000400500000' + '7000000');
  assert.deepEqual(frame.subarray(16, 32), pyHmac(key, frame.subarray(0, 16)).subarray(0, 16));
});

test('any command, counter and payload survive; any changed byte or another key is refused', () => {
  const key = sessionKey('k', Buffer.alloc(32, 1), Buffer.alloc(16, 2));
  const other = sessionKey('k', Buffer.alloc(32, 1), Buffer.alloc(16, 3));
  fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 0xffffffff }), fc.uint8Array({ maxLength: 300 }), fc.nat(), (cmd, counter, payload, at) => {
    const reply = asReply(key, cmd, 9, counter, Buffer.from(payload));
    const opened = openSession(key, reply);
    assert.ok(opened.ok);
    assert.deepEqual([opened.frame.cmd, opened.seq, opened.counter, Buffer.from(opened.frame.payload)], [cmd, 9, counter, Buffer.from(payload)]);
    assert.equal(openSession(other, reply).ok, false);
    const damaged = Buffer.from(reply.payload);
    damaged[at % damaged.length] ^= 1 << (at % 8);
    assert.equal(openSession(key, { ...reply, payload: damaged }).ok, false);
    assert.equal(openSession(key, { ...reply, flags: Flag.Error }).ok, false, 'the flags are covered too');
  }));
});
