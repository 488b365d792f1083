/**
 * The device client: one request in flight at a time, in arrival order, each with a timeout.
 *
 * How a noisy or broken link is kept from ever turning into a wrong answer:
 * - While a request waits, the device sends nothing but its reply (and OUTPUT frames during a
 *   call). Anything else — a corrupt frame, stray bytes, a reply to another command, a PING echo
 *   that is not ours — fails the request with a ProtocolError instead of being taken as the answer.
 * - After any failure the link is resynchronised before the next request: PINGs carrying fresh
 *   nonces until one comes back intact, so late replies are drained and dropped first.
 * - Every reply is checked for its exact shape.
 * - Lost bytes are noticed early: a reply that stops halfway fails after replyStallMs, and a
 *   request with no answer gets a few zero bytes behind it (nudgeMs), which make a device that
 *   still waits for the lost bytes refuse the frame with CHECKSUM.
 * - A request is retried only where a retry cannot change the outcome: when the device proves it
 *   did not execute it (it answered CHECKSUM, or PAYLOAD_TOO_LARGE for a frame that fits), and for
 *   idempotent commands (PING, INFO, READ_MEM, WRITE_MEM of the same bytes, HEAP_INFO,
 *   LIST_ALLOCS, AUTH_CHALLENGE). ALLOC, FREE, EXEC, CALL and AUTH_RESPONSE whose reply is lost
 *   fail: the device may have executed them, and only the caller can reconcile (LIST_ALLOCS).
 * The limit of the protocol itself: its checksum is a 16-bit byte sum. It catches any one changed
 * byte, but two changes in one frame can cancel out, and a frame shifted by a lost and a
 * doubled byte can keep its sum (test/e2e/link-faults.test.ts measures it).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';

import { encodeFrame, FrameDecoder, type Frame } from '../protocol/codec.js';
import { Cmd, cmdName, DeviceCap, Err, Flag, PROTOCOL_VERSION } from '../protocol/constants.js';
import {
  INFO_SIZE, parseAllocList, parseCallReply, parseHeapInfo, parseInfo, u32s,
  type AllocEntry, type CallReply, type DeviceInfo, type HeapInfo,
} from '../protocol/payloads.js';
import { DeviceError, DisconnectedError, ProtocolError, TimeoutError } from './errors.js';
import { SerialTransport, type Transport } from './transport.js';

export interface ClientOptions {
  /** Timeout of ordinary commands (ms). Keep it above the device's inter-byte timeout (500 ms). */
  timeoutMs?: number;
  /** Slack added to a call's device-side time limit for the host-side timeout (ms). */
  callSlackMs?: number;
  /** How long open() keeps pinging a device that does not answer yet (ms). */
  connectTimeoutMs?: number;
  /** Extra attempts for a request that may safely be repeated (see above); 0 = none. */
  retries?: number;
  /**
   * How long a resynchronising PING waits before the next one (ms). Longer than the device's
   * inter-byte timeout, so a frame the device was still collecting (and that swallowed the
   * PING) has been abandoned before the next PING arrives.
   */
  resyncIntervalMs?: number;
  /**
   * A reply that stops arriving halfway for this long has lost bytes (a device sends a reply in
   * one go): it fails at once instead of at the request's timeout (ms).
   */
  replyStallMs?: number;
  /**
   * A request with no byte of reply after this long gets a few zero bytes sent behind it (ms;
   * 0 = never). A device still waiting for bytes of the frame that were lost on the way takes
   * them as the rest of it and refuses it with CHECKSUM, so the client learns at once that the
   * request did not run and may repeat it; a device that is busy or idle skips them, as any
   * bytes before a magic.
   */
  nudgeMs?: number;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Who is waiting for the device: a request (strict), or a resynchronising PING. */
type Waiter =
  | { kind: 'request'; cmd: number; echo?: Buffer; settle(r: Frame | Error): void }
  | { kind: 'resync'; nonce: Buffer; settle(r: 'ok' | 'damaged' | 'silent' | Error): void };

/** Max payload assumed for a device that does not answer INFO (the seed's minimum buffer is 64 KiB). */
const SEED_MAX_PAYLOAD = 64 * 1024;

/** Commands whose repetition leaves the device as one execution would. */
const IDEMPOTENT = new Set<number>([Cmd.Ping, Cmd.Info, Cmd.ReadMem, Cmd.WriteMem, Cmd.HeapInfo, Cmd.ListAllocs, Cmd.AuthChallenge]);

const EMPTY = Buffer.alloc(0);
/**
 * Filler for a frame the device still waits for: zeros complete it with a checksum that cannot
 * match (any frame sums to 256 or more; only a long one can wrap, by a 1 in 65536 chance).
 */
const NUDGE = Buffer.alloc(8);

export class DeviceClient extends EventEmitter {
  private decoder = new FrameDecoder();
  private waiter: Waiter | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private needResync = false;
  /** The last failure was a timeout: the device may still be collecting a frame. */
  private maybeMidFrame = false;
  private lastSendAt = 0;
  private closedError: Error | null = null;
  /** INFO of the device, or null for a device that only speaks the seed's seven commands. */
  info: DeviceInfo | null = null;
  readonly timeoutMs: number;
  private readonly callSlackMs: number;
  private readonly retries: number;
  private readonly resyncIntervalMs: number;
  private readonly replyStallMs: number;
  private readonly nudgeMs: number;
  private stallTimer: NodeJS.Timeout | undefined;
  private bytesReceived = 0;
  /** Statistics, for tests and benchmarks. */
  readonly stats = { requests: 0, staleFrames: 0, badFrames: 0, strayBytes: 0, resyncs: 0, retries: 0, nudges: 0 };

  constructor(readonly transport: Transport, opts: ClientOptions = {}) {
    super();
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.callSlackMs = opts.callSlackMs ?? 2000;
    this.retries = opts.retries ?? 2;
    this.resyncIntervalMs = opts.resyncIntervalMs ?? 700;
    this.replyStallMs = opts.replyStallMs ?? 500;
    this.nudgeMs = opts.nudgeMs ?? 200;
    transport.onData((chunk) => this.onBytes(chunk));
    transport.onClose((err) => this.onClosed(err));
  }

  /** Opens a port (a board's /dev/ttyACM* or an emulator's pty), waits for the device, reads INFO. */
  static async open(path: string, opts: ClientOptions = {}): Promise<DeviceClient> {
    return DeviceClient.attach(await SerialTransport.open(path), opts);
  }

  /** A client over a transport that is already open (tests wrap the serial one). */
  static async attach(transport: Transport, opts: ClientOptions = {}): Promise<DeviceClient> {
    const client = new DeviceClient(transport, opts);
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
    try {
      await this.resync(connectTimeoutMs);
    } catch (e) {
      throw e instanceof TimeoutError ? new TimeoutError(`no answer from ${this.transport.description} within ${connectTimeoutMs} ms: is the device running P4-JIT firmware?`) : e;
    }
    try {
      this.info = await this.readInfo();
    } catch (e) {
      if (e instanceof DeviceError && e.code === Err.UNKNOWN_CMD) {
        this.info = null; // a seed-only device: the seven commands still work
        return;
      }
      throw e;
    }
    if (!this.info) return;
    if (this.info.protocolVersion > PROTOCOL_VERSION) {
      throw new ProtocolError(`the device speaks protocol version ${this.info.protocolVersion}; this P4-JIT supports up to ${PROTOCOL_VERSION}: update P4-JIT`);
    }
    // no valid reply is longer than this: a corrupted length is refused at once, not waited for
    const longest = Math.max(this.info.maxPayload, 4 + 12 * this.info.maxAllocs, INFO_SIZE);
    this.decoder = new FrameDecoder(longest + 1024);
  }

  /** Time allowed for a frame carrying n bytes: the slowest link (the emulator's UART under load) moves ~10 KB/s. */
  private transferTimeout(n: number): number {
    return this.timeoutMs + Math.ceil(n / 10);
  }

  has(cap: number): boolean {
    return this.info !== null && (this.info.capabilities & cap) !== 0;
  }

  // ---- commands ----

  /** PING: the device echoes the bytes (a different echo is never accepted). */
  ping(data: Buffer = EMPTY): Promise<Buffer> {
    return this.request(Cmd.Ping, data);
  }

  async alloc(size: number, caps: number, align = 4): Promise<number> {
    const p = await this.command(Cmd.Alloc, u32s(size, caps, align), {}, exactLength('ALLOC', 8));
    const addr = p.readUInt32LE(0);
    const err = p.readUInt32LE(4);
    if (err !== Err.OK || addr === 0) throw this.withHint(new DeviceError(Cmd.Alloc, err || Err.ALLOC_FAIL));
    if (addr % (align || 4) !== 0) {
      throw this.damaged(`ALLOC returned 0x${addr.toString(16)}, not aligned to ${align || 4}: the reply is not to be trusted`);
    }
    return addr;
  }

  async free(addr: number): Promise<void> {
    await this.command(Cmd.Free, u32s(addr), {}, (p) => {
      exactLength('FREE', 4)(p);
      if (p.readUInt32LE(0) !== 0) throw new ProtocolError(`FREE reply has status ${p.readUInt32LE(0)}, expected 0`);
    });
  }

  /** Writes any length, split into frames the device can hold. */
  async write(addr: number, data: Uint8Array, opts: RequestOptions = {}): Promise<void> {
    const chunk = this.maxPayload - 4;
    let off = 0;
    do {
      const part = data.subarray(off, off + chunk);
      const at = addr + off;
      await this.command(Cmd.WriteMem, Buffer.concat([u32s(at), part]), { timeoutMs: this.transferTimeout(part.length), ...opts }, (p) => {
        exactLength('WRITE_MEM', 8)(p);
        if (p.readUInt32LE(0) !== part.length || p.readUInt32LE(4) !== 0) {
          throw new ProtocolError(`WRITE_MEM at 0x${(at >>> 0).toString(16)}: device wrote ${p.readUInt32LE(0)} of ${part.length} bytes (status ${p.readUInt32LE(4)})`);
        }
      });
      off += part.length;
    } while (off < data.length);
  }

  /** Reads any length, split into frames the device can send. */
  async read(addr: number, size: number, opts: RequestOptions = {}): Promise<Buffer> {
    const parts: Buffer[] = [];
    let off = 0;
    while (off < size) {
      const n = Math.min(this.maxPayload, size - off);
      parts.push(await this.command(Cmd.ReadMem, u32s(addr + off, n), { timeoutMs: this.transferTimeout(n), ...opts }, exactLength('READ_MEM', n)));
      off += n;
    }
    return Buffer.concat(parts);
  }

  /** EXEC: calls int (*)(void) at addr; returns the int. */
  async exec(addr: number, opts: RequestOptions = {}): Promise<number> {
    const limit = this.info?.defaultCallMs ?? 10000;
    try {
      const p = await this.command(Cmd.Exec, u32s(addr), { timeoutMs: limit + this.callSlackMs, ...opts }, exactLength('EXEC', 4));
      return p.readInt32LE(0);
    } catch (e) {
      throw this.withHint(e, limit);
    }
  }

  /** CALL: entry(args, ret) with 8-byte argument slots; one round trip. */
  async call(entry: number, slots: Buffer, opts: RequestOptions & { timeLimitMs?: number } = {}): Promise<CallReply> {
    if (!this.has(DeviceCap.Call)) throw new ProtocolError('this device firmware has no CALL command: update the firmware');
    if (slots.length % 8 !== 0) throw new RangeError('argument slots must be a multiple of 8 bytes');
    const limit = opts.timeLimitMs ?? 0;
    const effective = limit || (this.info?.defaultCallMs ?? 2000);
    const payload = Buffer.concat([u32s(entry, limit), slots]);
    try {
      return parseCallReply(await this.command(Cmd.Call, payload, { timeoutMs: opts.timeoutMs ?? effective + this.callSlackMs, signal: opts.signal }, exactLength('CALL', 20)));
    } catch (e) {
      throw this.withHint(e, effective);
    }
  }

  async heapInfo(): Promise<HeapInfo> {
    return parseHeapInfo(await this.command(Cmd.HeapInfo, EMPTY, {}, exactLength('HEAP_INFO', 16)));
  }

  async listAllocs(): Promise<AllocEntry[]> {
    return parseAllocList(await this.command(Cmd.ListAllocs, EMPTY, {}, (p) => {
      if (p.length < 4 || p.length !== 4 + 12 * p.readUInt32LE(0)) throw new ProtocolError(`LIST_ALLOCS reply of ${p.length} bytes does not match its count`);
    }));
  }

  /**
   * Challenge-response authentication: the secret never crosses the wire, only
   * HMAC-SHA256(secret, device nonce).
   */
  async authenticate(secret: string | Buffer): Promise<void> {
    const nonce = await this.command(Cmd.AuthChallenge, EMPTY, {}, exactLength('AUTH_CHALLENGE', 32));
    const mac = createHmac('sha256', secret).update(nonce).digest();
    await this.command(Cmd.AuthResponse, mac, {}, exactLength('AUTH_RESPONSE', 4));
    if (this.info) this.info = await this.readInfo();
  }

  async readInfo(): Promise<DeviceInfo> {
    this.info = parseInfo(await this.command(Cmd.Info, EMPTY, {}, (p) => {
      if (p.length < INFO_SIZE) throw new ProtocolError(`INFO reply has ${p.length} bytes, expected ${INFO_SIZE}`);
    }));
    return this.info;
  }

  /** Sends one request and waits for its reply; requests are queued, one in flight. */
  request(cmd: number, payload: Buffer = EMPTY, opts: RequestOptions = {}): Promise<Buffer> {
    return this.command(cmd, payload, opts);
  }

  async close(): Promise<void> {
    if (this.closedError) return;
    this.closedError = new DisconnectedError('the connection was closed');
    await this.transport.close();
  }

  // ---- internals ----

  /** Queues a request; check() validates the reply's shape (a ProtocolError when it is wrong). */
  private command(cmd: number, payload: Buffer, opts: RequestOptions, check?: (p: Buffer) => void): Promise<Buffer> {
    const run = async (): Promise<Buffer> => {
      for (let attempt = 0; ; attempt++) {
        if (this.closedError) throw this.closedError;
        if (this.needResync) await this.resync(Math.max(this.timeoutMs, 3 * this.resyncIntervalMs));
        try {
          const reply = await this.exchange(cmd, payload, opts);
          check?.(reply);
          return reply;
        } catch (e) {
          if (e instanceof ProtocolError) this.needResync = true; // a frame that was not the answer
          if (attempt >= this.retries || !this.mayRetry(cmd, payload, e, opts)) throw e;
          this.stats.retries++;
        }
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private mayRetry(cmd: number, payload: Buffer, e: unknown, opts: RequestOptions): boolean {
    if (e instanceof DisconnectedError || opts.signal?.aborted) return false;
    if (e instanceof DeviceError) return this.notExecuted(cmd, payload, e.code);
    return (e instanceof TimeoutError || e instanceof ProtocolError) && IDEMPOTENT.has(cmd);
  }

  /** The device refused the frame itself (it arrived damaged), so the command did not run. */
  private notExecuted(cmd: number, payload: Buffer, code: number): boolean {
    if (code === Err.CHECKSUM) return true;
    if (code !== Err.PAYLOAD_TOO_LARGE || payload.length > this.maxPayload) return false;
    // READ_MEM answers PAYLOAD_TOO_LARGE for a size above the maximum: a real refusal
    return !(cmd === Cmd.ReadMem && payload.length === 8 && payload.readUInt32LE(4) > this.maxPayload);
  }

  private async exchange(cmd: number, payload: Buffer, opts: RequestOptions): Promise<Buffer> {
    const frame = await this.roundTrip(cmd, payload, opts.timeoutMs ?? this.timeoutMs, opts.signal);
    if (frame.flags === Flag.Error) {
      if (frame.payload.length < 4) throw new ProtocolError(`${cmdLabel(cmd)}: error reply without an error code`);
      const code = frame.payload.readUInt32LE(0);
      const detail: number[] = [];
      for (let o = 4; o + 4 <= frame.payload.length; o += 4) detail.push(frame.payload.readUInt32LE(o));
      // the request reached the device damaged: the link is not trusted until proven again
      if (code === Err.CHECKSUM || code === Err.PAYLOAD_TOO_LARGE) this.needResync = true;
      throw new DeviceError(cmd, code, detail);
    }
    return frame.payload;
  }

  private roundTrip(cmd: number, payload: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Frame> {
    if (this.closedError) return Promise.reject(this.closedError);
    this.stats.requests++;
    this.decoder.reset(); // bytes left from before answer nothing we are about to ask
    return new Promise<Frame>((resolve, reject) => {
      const settle = (r: Frame | Error) => {
        if (this.waiter !== waiter) return;
        this.waiter = null;
        clearTimeout(timer);
        clearTimeout(nudge);
        signal?.removeEventListener('abort', onAbort);
        if (r instanceof Error) {
          if (!(r instanceof DisconnectedError)) this.needResync = true;
          this.maybeMidFrame = r instanceof TimeoutError;
          reject(r);
        } else {
          resolve(r);
        }
      };
      const waiter: Waiter = { kind: 'request', cmd, echo: cmd === Cmd.Ping ? payload : undefined, settle };
      const timer = setTimeout(() => settle(new TimeoutError(`no reply to ${cmdLabel(cmd)} within ${timeoutMs} ms`)), timeoutMs);
      const onAbort = () => settle(new TimeoutError(`${cmdLabel(cmd)} cancelled`));
      const nudge = this.nudgeLater(waiter);
      this.waiter = waiter;
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort);
      this.send(encodeFrame(cmd, Flag.Request, payload), settle);
    });
  }

  private send(frame: Buffer, onError: (e: Error) => void): void {
    this.lastSendAt = Date.now();
    this.transport.write(frame).then(
      () => { this.lastSendAt = Date.now(); },
      (e: Error) => onError(e instanceof DisconnectedError ? e : new DisconnectedError(`write to ${this.transport.description} failed: ${e.message}`)),
    );
  }

  /** Sends the filler (see nudgeMs) if the waiter is still waiting and not a byte came back. */
  private nudgeLater(waiter: Waiter): NodeJS.Timeout | undefined {
    if (this.nudgeMs <= 0) return undefined;
    const received = this.bytesReceived;
    return setTimeout(() => {
      if (this.waiter !== waiter || this.bytesReceived !== received || this.closedError) return;
      this.stats.nudges++;
      this.lastSendAt = Date.now(); // resync keeps quiet for long enough after this too
      this.transport.write(NUDGE).catch(() => undefined); // a lost link is reported by onClose
    }, this.nudgeMs);
  }

  /**
   * Proves the link is in step: PINGs with fresh nonces until one comes back intact. Everything
   * the device sent before that echo (late replies, answers to damaged frames) is dropped.
   */
  private async resync(budgetMs: number): Promise<void> {
    this.stats.resyncs++;
    const deadline = Date.now() + budgetMs;
    if (this.maybeMidFrame) {
      // after a timeout the device may still be collecting a frame that would swallow the PING
      await sleep(Math.min(this.lastSendAt + this.resyncIntervalMs - Date.now(), deadline - Date.now()));
    }
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`the device did not answer (resynchronising the link) within ${budgetMs} ms`);
      // 'damaged': the device answered something mangled: ping again at once. 'silent': the PING
      // was lost or swallowed by a frame the device was collecting, which it has abandoned by now.
      if ((await this.pingOnce(Math.min(this.resyncIntervalMs, left))) === 'ok') break;
    }
    this.needResync = false;
    this.maybeMidFrame = false;
  }

  private pingOnce(waitMs: number): Promise<'ok' | 'damaged' | 'silent'> {
    if (this.closedError) return Promise.reject(this.closedError);
    this.stats.requests++;
    this.decoder.reset();
    const nonce = randomBytes(8);
    return new Promise((resolve, reject) => {
      const settle = (r: 'ok' | 'damaged' | 'silent' | Error) => {
        if (this.waiter !== waiter) return;
        this.waiter = null;
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      const waiter: Waiter = { kind: 'resync', nonce, settle };
      const timer = setTimeout(() => settle('silent'), waitMs);
      // no nudge here: the PING's own bytes complete a short frame, and the silence after it must
      // outlast the device's inter-byte timeout so that a frame with a damaged length is abandoned
      this.waiter = waiter;
      this.send(encodeFrame(Cmd.Ping, Flag.Request, nonce), settle);
    });
  }

  private onBytes(chunk: Buffer): void {
    clearTimeout(this.stallTimer);
    this.bytesReceived += chunk.length;
    for (const ev of this.decoder.push(chunk)) {
      if (ev.kind === 'frame') {
        this.onFrame(ev.frame);
      } else if (ev.kind === 'garbage') {
        this.stats.strayBytes += ev.bytes;
        this.onDamage(`${ev.bytes} stray byte${ev.bytes === 1 ? '' : 's'} from the device`);
      } else {
        this.stats.badFrames++;
        this.onDamage(ev.kind === 'bad-checksum'
          ? `a corrupt frame from the device (checksum 0x${ev.actual.toString(16)}, expected 0x${ev.expected.toString(16)})`
          : `a frame announcing ${ev.length} bytes, more than any valid reply`);
      }
    }
    if (this.decoder.pending > 0 && this.waiter) {
      const decoder = this.decoder;
      this.stallTimer = setTimeout(() => {
        if (this.decoder === decoder && decoder.pending > 0) {
          decoder.reset();
          this.onDamage(`a reply cut short (no byte for ${this.replyStallMs} ms)`);
        }
      }, this.replyStallMs);
      this.stallTimer.unref();
    }
  }

  /** Damage on the link never becomes a result: the request fails and the link is resynchronised. */
  private onDamage(what: string): void {
    const w = this.waiter;
    if (w?.kind === 'resync') w.settle('damaged');
    else w?.settle(new ProtocolError(`${what} while waiting for the ${cmdLabel(w.cmd)} reply`));
  }

  private onFrame(f: Frame): void {
    if (f.cmd === Cmd.Output && f.flags === Flag.Ok) {
      this.emit('output', f.payload.toString('utf8'));
      return;
    }
    const w = this.waiter;
    if (!w || f.flags === Flag.Request) {
      this.stats.staleFrames++; // a late reply, or our own frame echoed back by a terminal
      return;
    }
    if (w.kind === 'resync') {
      if (f.cmd === Cmd.Ping && f.flags === Flag.Ok && f.payload.equals(w.nonce)) w.settle('ok');
      else if (f.flags === Flag.Error) w.settle('damaged'); // the device saw a damaged frame
      else this.stats.staleFrames++; // drained: a late reply to an earlier request
      return;
    }
    if (f.flags !== Flag.Ok && f.flags !== Flag.Error) {
      w.settle(new ProtocolError(`a ${cmdLabel(f.cmd)} frame with unknown flags 0x${f.flags.toString(16)}`));
    } else if (f.cmd !== w.cmd) {
      const code = f.flags === Flag.Error && f.payload.length >= 4 ? f.payload.readUInt32LE(0) : -1;
      // a damaged request can reach the device with its command byte changed: still our refusal
      if (code === Err.CHECKSUM || code === Err.PAYLOAD_TOO_LARGE) w.settle({ ...f, cmd: w.cmd });
      else w.settle(new ProtocolError(`a ${cmdLabel(f.cmd)} reply while waiting for the ${cmdLabel(w.cmd)} reply`));
    } else if (w.echo && f.flags === Flag.Ok && !f.payload.equals(w.echo)) {
      w.settle(new ProtocolError('the PING echo differs from what was sent'));
    } else {
      w.settle(f);
    }
  }

  private onClosed(err?: Error): void {
    clearTimeout(this.stallTimer);
    const e = new DisconnectedError(err ? `device disconnected: ${err.message}` : `device disconnected (${this.transport.description})`);
    const wasOpen = this.closedError === null;
    if (wasOpen) this.closedError = e;
    this.waiter?.settle(this.closedError ?? e);
    if (wasOpen) this.emit('disconnect', e);
  }

  /** A well-formed reply whose content cannot be right: fail, and resynchronise before the next request. */
  private damaged(message: string): ProtocolError {
    this.needResync = true;
    return new ProtocolError(message);
  }

  /** Adds what the host knows to a device refusal: the limit that was hit. */
  private withHint(e: unknown, callLimitMs?: number): unknown {
    if (!(e instanceof DeviceError)) return e;
    const info = this.info;
    const hint =
      e.code === Err.TABLE_FULL && info ? `the device holds at most ${info.maxAllocs} allocations: free one first`
      : e.code === Err.LIMIT_BYTES && info ? `the device allows ${info.maxAllocBytes} allocated bytes in all`
      : e.code === Err.TIMEOUT && callLimitMs ? `time limit ${callLimitMs} ms`
      : e.code === Err.BAD_ARGUMENT && e.cmd === Cmd.Call && info && callLimitMs !== undefined && callLimitMs > info.maxCallMs
        ? `the time limit of ${callLimitMs} ms is above the device's maximum of ${info.maxCallMs} ms`
      : '';
    if (hint) e.message = `${e.message} (${hint})`;
    return e;
  }
}

function exactLength(what: string, n: number): (p: Buffer) => void {
  return (p) => {
    if (p.length !== n) throw new ProtocolError(`${what} reply has ${p.length} bytes, expected ${n}`);
  };
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

const cmdLabel = cmdName;
