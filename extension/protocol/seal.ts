/**
 * SEALED frames (docs/protocol.md): a request and its replies wrapped with a sequence byte and a
 * CRC-32 over the whole frame. The seed's 16-bit byte sum misses damage that cancels out (one
 * byte up, another down) and shifts; CRC-32 catches every burst up to 32 bits and all but one in
 * 2^32 of the rest, and the sequence byte tells a late reply from the awaited one.
 */
import * as zlib from 'node:zlib';

import { encodeFrame, type Frame } from './codec.js';
import { Cmd, Flag, HEADER_SIZE, MAGIC0, MAGIC1, SEAL_CRC_SIZE, SEAL_HEADER_SIZE, SEAL_OVERHEAD } from './constants.js';

/** zlib's CRC-32 (Node 20.15 and later); sealing is off where the runtime lacks it. */
const crc32: ((data: Uint8Array, value?: number) => number) | undefined = (zlib as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;

export const canSeal = typeof crc32 === 'function';

/** A frame's 8-byte header, which the CRC (and a SESSION frame's MAC) covers too. */
export function header(cmd: number, flags: number, length: number): Buffer {
  const h = Buffer.alloc(HEADER_SIZE);
  h[0] = MAGIC0;
  h[1] = MAGIC1;
  h[2] = cmd;
  h[3] = flags;
  h.writeUInt32LE(length, 4);
  return h;
}

/** The request frame carrying cmd and payload sealed with seq. */
export function encodeSealed(cmd: number, seq: number, payload: Uint8Array): Buffer {
  const body = Buffer.allocUnsafe(payload.length + SEAL_OVERHEAD);
  body[0] = cmd;
  body[1] = seq & 0xff;
  body[2] = 0;
  body[3] = 0;
  body.set(payload, SEAL_HEADER_SIZE);
  const crcAt = SEAL_HEADER_SIZE + payload.length;
  const crc = crc32!(body.subarray(0, crcAt), crc32!(header(Cmd.Sealed, Flag.Request, body.length)));
  body.writeUInt32LE(crc >>> 0, crcAt);
  return encodeFrame(Cmd.Sealed, Flag.Request, body);
}

/** A SEALED frame that is the device's plain refusal of a damaged or short one (an error code only). */
export function isPlainSealedRefusal(f: Frame): boolean {
  return f.cmd === Cmd.Sealed && f.flags === Flag.Error && f.payload.length === 4;
}

export type Unsealed = { ok: true; frame: Frame; seq: number } | { ok: false; why: string };

/** Opens a sealed reply: checks its CRC-32 and reserved bytes, returns the inner frame and seq. */
export function unseal(f: Frame): Unsealed {
  const p = f.payload;
  if (p.length < SEAL_OVERHEAD) return { ok: false, why: `a SEALED frame of ${p.length} bytes, shorter than its seal` };
  const crcAt = p.length - SEAL_CRC_SIZE;
  const want = crc32!(p.subarray(0, crcAt), crc32!(header(f.cmd, f.flags, p.length)));
  const got = p.readUInt32LE(crcAt);
  if (want >>> 0 !== got) {
    return { ok: false, why: `a sealed frame from the device with a wrong CRC-32 (0x${got.toString(16)}, expected 0x${(want >>> 0).toString(16)})` };
  }
  if (p[2] !== 0 || p[3] !== 0) return { ok: false, why: 'a sealed frame with non-zero reserved bytes' };
  return { ok: true, seq: p[1], frame: { cmd: p[0], flags: f.flags, payload: p.subarray(SEAL_HEADER_SIZE, crcAt) } };
}
