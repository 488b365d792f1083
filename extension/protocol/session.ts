/**
 * SESSION frames (docs/protocol.md): once a host has authenticated, its requests and the device's
 * replies carry a counter and a MAC under a key derived from the challenge exchange, so another
 * program that opens the same port cannot slip a request into the session, nor play one again.
 */
import { createHmac } from 'node:crypto';

import { encodeFrame, type Frame } from './codec.js';
import { Cmd, Flag, SESSION_HEADER_SIZE, SESSION_OVERHEAD, SESSION_TAG_SIZE } from './constants.js';
import { header } from './seal.js';

/** HMAC-SHA256(secret, "p4jit-session" || device nonce || host nonce). */
export function sessionKey(secret: string | Buffer, deviceNonce: Buffer, hostNonce: Buffer): Buffer {
  return createHmac('sha256', secret).update('p4jit-session').update(deviceNonce).update(hostNonce).digest();
}

/** The first 16 bytes of HMAC-SHA256(key, the frame from its magic up to the tag). */
function tagOf(key: Buffer, flags: number, length: number, body: Buffer): Buffer {
  return createHmac('sha256', key).update(header(Cmd.Session, flags, length)).update(body).digest().subarray(0, SESSION_TAG_SIZE);
}

/** The request frame carrying cmd and payload in the session, with seq and counter. */
export function encodeSession(key: Buffer, cmd: number, seq: number, counter: number, payload: Uint8Array): Buffer {
  const length = payload.length + SESSION_OVERHEAD;
  const body = Buffer.alloc(length);
  body[0] = cmd;
  body[1] = seq & 0xff;
  body.writeUInt32LE(counter >>> 0, 4);
  body.set(payload, SESSION_HEADER_SIZE);
  const tagAt = length - SESSION_TAG_SIZE;
  tagOf(key, Flag.Request, length, body.subarray(0, tagAt)).copy(body, tagAt);
  return encodeFrame(Cmd.Session, Flag.Request, body);
}

/** A SESSION frame that is the device's plain refusal (an error code only, no MAC). */
export function isPlainSessionRefusal(f: Frame): boolean {
  return f.cmd === Cmd.Session && f.flags === Flag.Error && f.payload.length === 4;
}

export type SessionOpened = { ok: true; frame: Frame; seq: number; counter: number } | { ok: false; why: string };

/** Opens a reply in the session: checks its MAC and reserved bytes, returns the inner frame. */
export function openSession(key: Buffer, f: Frame): SessionOpened {
  const p = f.payload;
  if (p.length < SESSION_OVERHEAD) return { ok: false, why: `a SESSION frame of ${p.length} bytes, shorter than its MAC` };
  const tagAt = p.length - SESSION_TAG_SIZE;
  if (!tagOf(key, f.flags, p.length, p.subarray(0, tagAt)).equals(p.subarray(tagAt))) {
    return { ok: false, why: 'a SESSION frame from the device whose MAC does not match the session key' };
  }
  if (p[2] !== 0 || p[3] !== 0) return { ok: false, why: 'a SESSION frame with non-zero reserved bytes' };
  return { ok: true, seq: p[1], counter: p.readUInt32LE(4), frame: { cmd: p[0], flags: f.flags, payload: p.subarray(SESSION_HEADER_SIZE, tagAt) } };
}
