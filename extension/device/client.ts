/**
 * The device client: one request in flight at a time, in arrival order; a timeout per command;
 * after a timeout or a corrupt reply the link is resynchronised with a PING carrying a fresh
 * nonce, so a late reply can never be taken for the answer to a later request.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';

import { encodeFrame, FrameDecoder, type Frame } from '../protocol/codec.js';
import { Cmd, DeviceCap, Err, Flag, PROTOCOL_VERSION } from '../protocol/constants.js';
import {
  parseAllocList, parseCallReply, parseHeapInfo, parseInfo, u32s,
  type AllocEntry, type CallReply, type DeviceInfo, type HeapInfo,
} from '../protocol/payloads.js';
import { DeviceError, DisconnectedError, ProtocolError, TimeoutError } from './errors.js';
import { SerialTransport, type Transport } from './transport.js';

export interface ClientOptions {
  /** Timeout of ordinary commands (ms). */
  timeoutMs?: number;
  /** Slack added to a call's device-side time limit for the host-side timeout (ms). */
  callSlackMs?: number;
  /** How long open() keeps pinging a device that does not answer yet (ms). */
  connectTimeoutMs?: number;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Pending {
  cmd: number;
  resolve: (f: Frame) => void;
  reject: (e: Error) => void;
}

/** Max payload assumed for a device that does not answer INFO (the seed's minimum buffer is 64 KiB). */
const SEED_MAX_PAYLOAD = 64 * 1024;

export class DeviceClient extends EventEmitter {
  private readonly decoder = new FrameDecoder();
  private pending: Pending | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private needResync = false;
  private closedError: Error | null = null;
  /** INFO of the device, or null for a device that only speaks the seed's seven commands. */
  info: DeviceInfo | null = null;
  readonly timeoutMs: number;
  private readonly callSlackMs: number;
  /** Statistics, for tests and benchmarks. */
  readonly stats = { requests: 0, staleFrames: 0, badFrames: 0, resyncs: 0 };

  constructor(readonly transport: Transport, opts: ClientOptions = {}) {
    super();
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.callSlackMs = opts.callSlackMs ?? 2000;
    transport.onData((chunk) => this.onBytes(chunk));
    transport.onClose((err) => this.onClosed(err));
  }

  /** Opens a port (a board's /dev/ttyACM* or an emulator's pty), waits for the device, reads INFO. */
  static async open(path: string, opts: ClientOptions = {}): Promise<DeviceClient> {
    const client = new DeviceClient(await SerialTransport.open(path), opts);
    try {
      await client.handshake(opts.connectTimeoutMs ?? 5000);
    } catch (e) {
      await client.close();
      throw e;
    }
    return client;
  }

  get connected(): boolean {
    return this.closedError === null;
  }

  get maxPayload(): number {
    return this.info?.maxPayload ?? SEED_MAX_PAYLOAD;
  }

  /** Pings until the device answers (a pty is noticed by QEMU only once a second), then reads INFO. */
  async handshake(connectTimeoutMs: number): Promise<void> {
    const deadline = Date.now() + connectTimeoutMs;
    for (;;) {
      try {
        await this.resync(Math.min(700, Math.max(100, deadline - Date.now())));
        break;
      } catch (e) {
        if (!(e instanceof TimeoutError) || Date.now() >= deadline) {
          throw e instanceof TimeoutError ? new TimeoutError(`no answer from ${this.transport.description} within ${connectTimeoutMs} ms: is the device running P4-JIT firmware?`) : e;
        }
      }
    }
    try {
      this.info = parseInfo(await this.request(Cmd.Info));
    } catch (e) {
      if (e instanceof DeviceError && e.code === Err.UNKNOWN_CMD) {
        this.info = null; // a seed-only device: the seven commands still work
        return;
      }
      throw e;
    }
    if (this.info.protocolVersion > PROTOCOL_VERSION) {
      throw new ProtocolError(`the device speaks protocol version ${this.info.protocolVersion}; this P4-JIT supports up to ${PROTOCOL_VERSION}: update P4-JIT`);
    }
  }

  /** Time allowed for a frame carrying n bytes: the slowest link seen moves ~100 KB/s. */
  private transferTimeout(n: number): number {
    return this.timeoutMs + Math.ceil(n / 100);
  }

  has(cap: number): boolean {
    return this.info !== null && (this.info.capabilities & cap) !== 0;
  }

  // ---- commands ----

  ping(data: Buffer = Buffer.alloc(0)): Promise<Buffer> {
    return this.request(Cmd.Ping, data);
  }

  async alloc(size: number, caps: number, align = 4): Promise<number> {
    const p = await this.request(Cmd.Alloc, u32s(size, caps, align));
    if (p.length < 8) throw new ProtocolError(`ALLOC reply has ${p.length} bytes, expected 8`);
    const addr = p.readUInt32LE(0);
    const err = p.readUInt32LE(4);
    if (err !== Err.OK || addr === 0) throw new DeviceError(Cmd.Alloc, err || Err.ALLOC_FAIL);
    return addr;
  }

  async free(addr: number): Promise<void> {
    await this.request(Cmd.Free, u32s(addr));
  }

  /** Writes any length, split into frames the device can hold. */
  async write(addr: number, data: Uint8Array, opts: RequestOptions = {}): Promise<void> {
    const chunk = this.maxPayload - 4;
    let off = 0;
    do {
      const part = data.subarray(off, off + chunk);
      const p = await this.request(Cmd.WriteMem, Buffer.concat([u32s(addr + off), part]), { timeoutMs: this.transferTimeout(part.length), ...opts });
      if (p.length < 4 || p.readUInt32LE(0) !== part.length) {
        throw new ProtocolError(`WRITE_MEM at 0x${(addr + off).toString(16)}: device wrote ${p.length >= 4 ? p.readUInt32LE(0) : '?'} of ${part.length} bytes`);
      }
      off += part.length;
    } while (off < data.length);
  }

  /** Reads any length, split into frames the device can send. */
  async read(addr: number, size: number, opts: RequestOptions = {}): Promise<Buffer> {
    const parts: Buffer[] = [];
    let off = 0;
    while (off < size) {
      const n = Math.min(this.maxPayload, size - off);
      const p = await this.request(Cmd.ReadMem, u32s(addr + off, n), { timeoutMs: this.transferTimeout(n), ...opts });
      if (p.length !== n) throw new ProtocolError(`READ_MEM returned ${p.length} bytes, asked ${n}`);
      parts.push(p);
      off += n;
    }
    return Buffer.concat(parts);
  }

  /** EXEC: calls int (*)(void) at addr; returns the int. */
  async exec(addr: number, opts: RequestOptions = {}): Promise<number> {
    const limit = this.info?.defaultCallMs ?? 10000;
    const p = await this.request(Cmd.Exec, u32s(addr), { timeoutMs: limit + this.callSlackMs, ...opts });
    if (p.length < 4) throw new ProtocolError(`EXEC reply has ${p.length} bytes, expected 4`);
    return p.readInt32LE(0);
  }

  /** CALL: entry(args, ret) with 8-byte argument slots; one round trip. */
  async call(entry: number, slots: Buffer, opts: RequestOptions & { timeLimitMs?: number } = {}): Promise<CallReply> {
    if (!this.has(DeviceCap.Call)) throw new ProtocolError('this device firmware has no CALL command: update the firmware');
    if (slots.length % 8 !== 0) throw new RangeError('argument slots must be a multiple of 8 bytes');
    const limit = opts.timeLimitMs ?? 0;
    const effective = limit || (this.info?.defaultCallMs ?? 2000);
    const payload = Buffer.concat([u32s(entry, limit), slots]);
    return parseCallReply(await this.request(Cmd.Call, payload, { timeoutMs: effective + this.callSlackMs, signal: opts.signal }));
  }

  async heapInfo(): Promise<HeapInfo> {
    return parseHeapInfo(await this.request(Cmd.HeapInfo));
  }

  async listAllocs(): Promise<AllocEntry[]> {
    return parseAllocList(await this.request(Cmd.ListAllocs));
  }

  /**
   * Challenge-response authentication: the secret never crosses the wire, only
   * HMAC-SHA256(secret, device nonce).
   */
  async authenticate(secret: string | Buffer): Promise<void> {
    const nonce = await this.request(Cmd.AuthChallenge);
    if (nonce.length !== 32) throw new ProtocolError(`AUTH_CHALLENGE reply has ${nonce.length} bytes, expected 32`);
    const mac = createHmac('sha256', secret).update(nonce).digest();
    await this.request(Cmd.AuthResponse, mac);
    if (this.info) this.info = await this.readInfo();
  }

  async readInfo(): Promise<DeviceInfo> {
    this.info = parseInfo(await this.request(Cmd.Info));
    return this.info;
  }

  /** Sends one request and waits for its reply; requests are queued, one in flight. */
  request(cmd: number, payload: Buffer = Buffer.alloc(0), opts: RequestOptions = {}): Promise<Buffer> {
    const run = async () => {
      if (this.needResync) await this.resync(this.timeoutMs);
      return this.exchange(cmd, payload, opts);
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    if (this.closedError) return;
    this.closedError = new DisconnectedError('the connection was closed');
    await this.transport.close();
  }

  // ---- internals ----

  private async exchange(cmd: number, payload: Buffer, opts: RequestOptions): Promise<Buffer> {
    const frame = await this.roundTrip(cmd, payload, opts);
    if (frame.flags === Flag.Error) {
      const code = frame.payload.length >= 4 ? frame.payload.readUInt32LE(0) : -1;
      const detail: number[] = [];
      for (let o = 4; o + 4 <= frame.payload.length; o += 4) detail.push(frame.payload.readUInt32LE(o));
      throw new DeviceError(cmd, code, detail);
    }
    return frame.payload;
  }

  private roundTrip(cmd: number, payload: Buffer, opts: RequestOptions): Promise<Frame> {
    if (this.closedError) return Promise.reject(this.closedError);
    this.stats.requests++;
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    return new Promise<Frame>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        this.pending = null;
      };
      const fail = (e: Error, resync: boolean) => {
        done();
        if (resync) this.needResync = true;
        reject(e);
      };
      const timer = setTimeout(
        () => fail(new TimeoutError(`no reply to ${cmdLabel(cmd)} within ${timeoutMs} ms`), true),
        timeoutMs,
      );
      const onAbort = () => fail(new TimeoutError(`${cmdLabel(cmd)} cancelled`), true);
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort);
      this.pending = {
        cmd,
        resolve: (f) => { done(); resolve(f); },
        reject: (e) => fail(e, !(e instanceof DisconnectedError)),
      };
      this.transport.write(encodeFrame(cmd, Flag.Request, payload)).catch((e: Error) => this.pending?.reject(e));
    });
  }

  /** Drains whatever is in flight and proves the link is in step: a PING with a fresh nonce. */
  private async resync(timeoutMs: number): Promise<void> {
    this.stats.resyncs++;
    this.decoder.reset();
    const nonce = randomBytes(8);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`the device did not answer a resynchronising PING within ${timeoutMs} ms`);
      const f = await this.roundTrip(Cmd.Ping, nonce, { timeoutMs: left });
      if (f.flags === Flag.Ok && f.payload.equals(nonce)) break;
      // a late reply to an earlier PING: keep waiting for ours
    }
    this.needResync = false;
  }

  private onBytes(chunk: Buffer): void {
    for (const ev of this.decoder.push(chunk)) {
      if (ev.kind === 'frame') {
        this.onFrame(ev.frame);
      } else if (ev.kind === 'bad-checksum' || ev.kind === 'too-large') {
        this.stats.badFrames++;
        // a corrupt reply must never become a result: fail the request and resynchronise
        this.pending?.reject(new ProtocolError(ev.kind === 'bad-checksum'
          ? `corrupt reply from the device (checksum 0x${ev.actual.toString(16)}, expected 0x${ev.expected.toString(16)})`
          : `the device announced a ${ev.length}-byte reply, larger than any valid one`));
      }
    }
  }

  private onFrame(f: Frame): void {
    if (f.cmd === Cmd.Output && f.flags === Flag.Ok) {
      this.emit('output', f.payload.toString('utf8'));
      return;
    }
    const p = this.pending;
    if (!p || f.flags === Flag.Request || f.cmd !== p.cmd) {
      this.stats.staleFrames++; // a late reply to a request that already timed out
      return;
    }
    p.resolve(f);
  }

  private onClosed(err?: Error): void {
    const e = new DisconnectedError(`device disconnected (${this.transport.description})${err ? `: ${err.message}` : ''}`);
    const wasOpen = this.closedError === null;
    if (wasOpen) this.closedError = e;
    this.pending?.reject(this.closedError ?? e);
    if (wasOpen) this.emit('disconnect', e);
  }
}

function cmdLabel(cmd: number): string {
  const name = Object.entries(Cmd).find(([, v]) => v === cmd)?.[0];
  return name ? name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() : `command 0x${cmd.toString(16)}`;
}
