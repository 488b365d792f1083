/**
 * Frame codec: encoding, checksum, and an incremental decoder that accepts the byte stream in any
 * split, skips garbage, resynchronises on the next magic and reports every bad frame it drops.
 */
import { CHECKSUM_SIZE, HEADER_SIZE, MAGIC0, MAGIC1 } from './constants.js';

export interface Frame {
  cmd: number;
  flags: number;
  payload: Buffer;
}

/** The byte sum of `data`, mod 65536. */
export function checksum(data: Uint8Array): number {
  let sum = 0;
  let i = 0;
  // bytes up to a 4-byte boundary, then four at a time (the hot path of every large transfer)
  const head = Math.min(data.length, (4 - ((data.byteOffset + i) & 3)) & 3);
  for (; i < head; i++) sum += data[i];
  const words = (data.length - i) >>> 2;
  if (words > 0) {
    const w32 = new Uint32Array(data.buffer, data.byteOffset + i, words);
    // two 16-bit lanes each collect a byte of every half-word; 128 words cannot overflow a lane
    for (let w = 0; w < words; ) {
      const end = Math.min(words, w + 128);
      let lanes = 0;
      for (; w < end; w++) {
        const v = w32[w];
        lanes += (v & 0x00ff00ff) + ((v >>> 8) & 0x00ff00ff);
      }
      sum += (lanes & 0xffff) + (lanes >>> 16);
    }
    i += words * 4;
  }
  for (; i < data.length; i++) sum += data[i];
  return sum & 0xffff;
}

export function encodeFrame(cmd: number, flags: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + payload.length + CHECKSUM_SIZE);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = cmd;
  out[3] = flags;
  out.writeUInt32LE(payload.length, 4);
  out.set(payload, HEADER_SIZE);
  const sum = checksum(out.subarray(0, HEADER_SIZE + payload.length));
  out.writeUInt16LE(sum, HEADER_SIZE + payload.length);
  return out;
}

export type DecodeEvent =
  | { kind: 'frame'; frame: Frame }
  | { kind: 'bad-checksum'; cmd: number; flags: number; expected: number; actual: number }
  | { kind: 'too-large'; cmd: number; length: number }
  | { kind: 'garbage'; bytes: number };

/**
 * Incremental decoder. push() returns the events the new bytes completed. A frame announcing a
 * payload above maxPayload is dropped at its header (the stream resynchronises on the next magic),
 * so a corrupted length can never make the decoder swallow the frames that follow.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  /** Chunks of a large frame, joined once the whole frame is there (no quadratic copying). */
  private waiting: Uint8Array[] = [];
  private waitingBytes = 0;
  private needed = 0;

  constructor(private readonly maxPayload = 16 * 1024 * 1024) {}

  push(chunk: Uint8Array): DecodeEvent[] {
    if (this.buf.length + this.waitingBytes + chunk.length < this.needed) {
      this.waiting.push(chunk);
      this.waitingBytes += chunk.length;
      return [];
    }
    this.buf = this.buf.length || this.waiting.length ? Buffer.concat([this.buf, ...this.waiting, chunk]) : Buffer.from(chunk);
    this.waiting = [];
    this.waitingBytes = 0;
    this.needed = 0;
    const events: DecodeEvent[] = [];
    let pos = 0;
    let garbage = 0;
    const buf = this.buf;
    while (pos < buf.length) {
      if (buf[pos] !== MAGIC0 || (pos + 1 < buf.length && buf[pos + 1] !== MAGIC1)) {
        pos++;
        garbage++;
        continue;
      }
      if (buf.length - pos < HEADER_SIZE) break;
      const cmd = buf[pos + 2];
      const flags = buf[pos + 3];
      const length = buf.readUInt32LE(pos + 4);
      if (length > this.maxPayload) {
        events.push({ kind: 'too-large', cmd, length });
        pos += 1; // resync after this magic
        continue;
      }
      const total = HEADER_SIZE + length + CHECKSUM_SIZE;
      if (buf.length - pos < total) {
        this.needed = total;
        break;
      }
      const body = buf.subarray(pos, pos + HEADER_SIZE + length);
      const expected = checksum(body);
      const actual = buf.readUInt16LE(pos + HEADER_SIZE + length);
      if (expected !== actual) {
        events.push({ kind: 'bad-checksum', cmd, flags, expected, actual });
        pos += 1; // the "frame" may have been garbage that happened to contain a magic
        continue;
      }
      if (garbage) {
        events.push({ kind: 'garbage', bytes: garbage });
        garbage = 0;
      }
      // a view, not a copy: buf is this decoder's own and is never written again
      events.push({ kind: 'frame', frame: { cmd, flags, payload: buf.subarray(pos + HEADER_SIZE, pos + HEADER_SIZE + length) } });
      pos += total;
    }
    if (garbage) events.push({ kind: 'garbage', bytes: garbage });
    this.buf = pos >= buf.length ? Buffer.alloc(0) : buf.subarray(pos);
    return events;
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length + this.waitingBytes;
  }

  reset(): void {
    this.buf = Buffer.alloc(0);
    this.waiting = [];
    this.waitingBytes = 0;
    this.needed = 0;
  }
}
