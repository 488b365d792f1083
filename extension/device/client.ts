/**
 * The device client: the commands, one request in flight at a time, in arrival order, each with
 * a timeout, over a Link (link.ts: how damage on the wire is kept from becoming a result).
 *
 * - Every reply is checked for its exact shape.
 * - A request is retried only where a retry cannot change the outcome: when the device proves it
 *   did not execute it (it answered CHECKSUM, or PAYLOAD_TOO_LARGE for a frame that fits), and for
 *   idempotent commands (PING, INFO, FEATURES, READ_MEM, WRITE_MEM of the same bytes, HEAP_INFO,
 *   LIST_ALLOCS, AUTH_CHALLENGE). ALLOC, FREE, EXEC, CALL and AUTH_RESPONSE whose reply is lost
 *   fail: the device may have executed them, and only the caller can reconcile (LIST_ALLOCS).
 * - Requests are SEALED (CRC-32 and a sequence number) when the device offers it.
 * - Once authenticated with a device that offers sessions, requests travel in SESSION frames:
 *   a counter and a MAC under a key from the challenge exchange, which no other program can forge.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';

import { ALL_FEATURES, Cmd, cmdName, DeviceCap, Err, Flag, HOST_NONCE_SIZE, PROTOCOL_VERSION } from '../protocol/constants.js';
import { canSeal } from '../protocol/seal.js';
import { sessionKey } from '../protocol/session.js';
import {
  INFO_SIZE, parseAllocList, parseCallReply, parseHeapInfo, parseInfo, u32s,
  type AllocEntry, type CallReply, type DeviceInfo, type HeapInfo,
} from '../protocol/payloads.js';
import { DeviceError, DeviceRestartedError, DeviceUnresponsiveError, DisconnectedError, ProtocolError, TimeoutError } from './errors.js';
import { Link, sleep, type LinkStats } from './link.js';
import { SerialTransport, type Transport } from './transport.js';
import { P4JitError } from '../util/errors.js';

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
  /** Seal requests (CRC-32) when the device can; false keeps the seed's 16-bit sum only. */
  seal?: boolean;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Max payload assumed for a device that does not answer INFO (protocol version 1's minimum buffer is 64 KiB). */
const V1_MAX_PAYLOAD = 64 * 1024;

/** Commands whose repetition leaves the device as one execution would. */
const IDEMPOTENT = new Set<number>([Cmd.Ping, Cmd.Info, Cmd.Features, Cmd.ReadMem, Cmd.WriteMem, Cmd.HeapInfo, Cmd.ListAllocs, Cmd.LastFault, Cmd.AuthChallenge, Cmd.AuthEnd]);

const EMPTY = Buffer.alloc(0);
/** Requests that leave device memory as it was (every other one may write it, or run code that does). */
const LEAVES_MEMORY = new Set<number>([Cmd.Ping, Cmd.Info, Cmd.Features, Cmd.ReadMem, Cmd.HeapInfo, Cmd.ListAllocs, Cmd.LastFault, Cmd.AuthChallenge, Cmd.AuthResponse, Cmd.AuthEnd]);
/** How long close() waits for the device to confirm AUTH_END. */
const LOGOUT_WAIT_MS = 600;

export class DeviceClient extends EventEmitter {
  private readonly link: Link;
  private queue: Promise<unknown> = Promise.resolve();
  /** INFO of the device, or null for a device that only speaks the seed's seven commands. */
  info: DeviceInfo | null = null;
  /**
   * Counts the requests that may have changed device memory (writes, calls, allocations, raw
   * requests): bytes read while it had one value are still there while it keeps it.
   */
  get memoryEpoch(): number {
    return this.memoryChanges;
  }

  private memoryChanges = 0;
  readonly timeoutMs: number;
  private readonly callSlackMs: number;
  private readonly retries: number;
  private readonly resyncIntervalMs: number;
  private readonly seal: boolean;
  /** This host asked for extended replies (FEATURES): AUTH_END withdraws them on close. */
  private optedIn = false;

  constructor(readonly transport: Transport, opts: ClientOptions = {}) {
    super();
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.callSlackMs = opts.callSlackMs ?? 2000;
    this.retries = opts.retries ?? 2;
    this.resyncIntervalMs = opts.resyncIntervalMs ?? 700;
    this.seal = opts.seal ?? true;
    this.link = new Link(transport, {
      resyncIntervalMs: this.resyncIntervalMs,
      replyStallMs: opts.replyStallMs ?? 500,
      nudgeMs: opts.nudgeMs ?? 200,
    }, {
      output: (text) => this.emit('output', text),
      disconnect: (e) => this.emit('disconnect', e),
    });
  }

  /** Statistics, for tests and benchmarks. */
  get stats(): LinkStats {
    return this.link.stats;
  }

  /** Requests and replies carry a CRC-32 (the device offers SEALED frames and sealing is on). */
  get sealed(): boolean {
    return this.link.sealing;
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
    return this.link.closedBy === null;
  }

  get maxPayload(): number {
    return this.info?.maxPayload ?? V1_MAX_PAYLOAD;
  }

  /** Pings until the device answers (a pty is noticed by QEMU only once a second), then reads INFO. */
  async handshake(connectTimeoutMs: number): Promise<void> {
    try {
      await this.link.resync(connectTimeoutMs);
    } catch (e) {
      throw e instanceof TimeoutError ? new TimeoutError(`no answer from ${this.transport.description} within ${connectTimeoutMs} ms: is the device running P4-JIT firmware? ` +
        'If it stopped answering during a call (code that disabled interrupts and looped), restart it: a board with its reset button, an emulated one by starting it again') : e;
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
    this.link.setLongestReply(longest + 1024);
    this.link.sealing = this.seal && canSeal && this.has(DeviceCap.Sealed);
    if (this.has(DeviceCap.Features)) await this.optIn();
  }

  /**
   * FEATURES: until a host asks, the device answers as the seed did (a seed-only host must see
   * nothing else): no OUTPUT frames, FAULT and TIMEOUT without their detail. P4-JIT wants both.
   */
  private async optIn(): Promise<void> {
    await this.command(Cmd.Features, u32s(ALL_FEATURES), {}, (p) => {
      exactLength('FEATURES', 4)(p);
      const granted = p.readUInt32LE(0);
      if ((granted & ALL_FEATURES) !== ALL_FEATURES) {
        throw new ProtocolError(`the device granted features 0x${granted.toString(16)} of 0x${ALL_FEATURES.toString(16)}`);
      }
    });
    this.optedIn = true;
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

  /**
   * Writes any length, split into frames the device can hold. An abort (opts.signal) stops it
   * between frames, never inside one, so the link stays in step.
   */
  async write(addr: number, data: Uint8Array, opts: RequestOptions = {}): Promise<void> {
    const chunk = this.maxPayload - 4 - this.link.overhead;
    const { signal, ...frameOpts } = opts;
    let off = 0;
    do {
      signal?.throwIfAborted();
      const part = data.subarray(off, off + chunk);
      const at = addr + off;
      await this.command(Cmd.WriteMem, Buffer.concat([u32s(at), part]), { timeoutMs: this.transferTimeout(part.length), ...frameOpts }, (p) => {
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
      const p = await this.command(Cmd.Exec, u32s(addr), { timeoutMs: this.callWaitMs(limit), ...opts }, exactLength('EXEC', 4));
      return p.readInt32LE(0);
    } catch (e) {
      throw this.withHint(e, limit);
    }
  }

  /** CALL: entry(args, ret) with 8-byte argument slots; one round trip. */
  async call(entry: number, slots: Buffer, opts: RequestOptions & { timeLimitMs?: number } = {}): Promise<CallReply> {
    if (!this.has(DeviceCap.Call)) throw new ProtocolError('this device firmware has no CALL command: update the firmware');
    if (slots.length % 8 !== 0) throw new P4JitError('argument slots must be a multiple of 8 bytes');
    const limit = opts.timeLimitMs ?? 0;
    const effective = limit || (this.info?.defaultCallMs ?? 2000);
    const payload = Buffer.concat([u32s(entry, limit), slots]);
    try {
      return parseCallReply(await this.command(Cmd.Call, payload, { timeoutMs: opts.timeoutMs ?? this.callWaitMs(effective), signal: opts.signal }, exactLength('CALL', 20)));
    } catch (e) {
      throw this.withHint(e, effective);
    }
  }

  /**
   * How long the host waits for a call with a device time limit of `limit` ms. Under QEMU -icount
   * the limit counts emulated time (10^9 instructions a second), and QEMU executes 0.06-1.3 x 10^9
   * instructions a second there: the fewer instructions a loop's body has, the slower (a
   * `while (1);` is the slowest, measured 16x its limit).
   */
  private callWaitMs(limit: number): number {
    return (this.has(DeviceCap.ICount) ? 20 * limit : limit) + this.callSlackMs;
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
    this.link.session = null; // a new authentication starts outside any earlier session
    const nonce = await this.command(Cmd.AuthChallenge, EMPTY, {}, exactLength('AUTH_CHALLENGE', 32));
    const mac = createHmac('sha256', secret).update(nonce).digest();
    // a device with sessions binds what follows to a key only this host and the device know
    const hostNonce = this.has(DeviceCap.Session) ? randomBytes(HOST_NONCE_SIZE) : EMPTY;
    await this.command(Cmd.AuthResponse, Buffer.concat([mac, hostNonce]), {}, exactLength('AUTH_RESPONSE', 4));
    if (hostNonce.length) this.link.session = { key: sessionKey(secret, nonce, hostNonce), counter: 0 };
    if (this.info) this.info = await this.readInfo();
  }

  /** Requests travel in an authenticated session (SESSION frames), which no other program can join. */
  get inSession(): boolean {
    return this.link.session !== null;
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

  /**
   * AUTH_END: the device drops the authentication and the FEATURES this host asked for; whoever
   * talks to it next must authenticate, and gets the seed's replies until it asks for more.
   */
  private async logout(): Promise<void> {
    await this.command(Cmd.AuthEnd, EMPTY, { timeoutMs: 500 }, exactLength('AUTH_END', 4));
    this.link.session = null;
  }

  /**
   * Closes the port. An authenticated or opted-in host ends its session first (when the link is
   * idle), so the next host to open the port finds the device neither unlocked nor sending
   * frames an original host does not know. A board also forgets on DTR drop and USB detach; a
   * host that vanishes without closing relies on those.
   */
  async close(): Promise<void> {
    if (this.link.closedBy) return;
    const authenticated = this.has(DeviceCap.AuthRequired) && this.has(DeviceCap.Authenticated);
    if ((authenticated || this.optedIn) && !this.link.busy) {
      // best effort and bounded: a device that stopped answering must not hold the close up
      const logout = this.logout().catch(() => undefined);
      await Promise.race([logout, sleep(LOGOUT_WAIT_MS)]);
    }
    this.link.markClosed();
    await this.transport.close();
  }

  // ---- internals ----

  /** Queues a request; check() validates the reply's shape (a ProtocolError when it is wrong). */
  private command(cmd: number, payload: Buffer, opts: RequestOptions, check?: (p: Buffer) => void): Promise<Buffer> {
    if (!LEAVES_MEMORY.has(cmd)) this.memoryChanges++;
    const run = async (): Promise<Buffer> => {
      for (let attempt = 0; ; attempt++) {
        if (this.link.closedBy) throw this.link.closedBy;
        if (this.link.needResync) await this.link.resync(Math.max(this.timeoutMs, 3 * this.resyncIntervalMs));
        try {
          const reply = await this.exchange(cmd, payload, opts);
          check?.(reply);
          return reply;
        } catch (e) {
          if (e instanceof ProtocolError) this.link.needResync = true; // a frame that was not the answer
          if (attempt >= this.retries || !this.mayRetry(cmd, payload, e, opts)) throw await this.explain(cmd, e, opts);
          this.stats.retries++;
        }
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * A request that got no reply, or was refused for an allocation the host believes live, may
   * mean the device restarted (its boot id changed: every allocation is gone) or stopped
   * answering for good: ask it, and say which.
   */
  private async explain(cmd: number, e: unknown, opts: RequestOptions): Promise<unknown> {
    const known = this.info?.bootId;
    const timedOut = e instanceof TimeoutError && !opts.signal?.aborted;
    const refused = e instanceof DeviceError && (e.code === Err.NOT_ALLOCATED || e.code === Err.NOT_EXECUTABLE);
    if (known === undefined || known === null || this.link.closedBy || !(timedOut || refused)) return e;
    const budget = Math.max(this.timeoutMs, 3 * this.resyncIntervalMs);
    const probeStart = Date.now();
    let now: DeviceInfo;
    let answered = !this.link.needResync;
    try {
      if (!answered) await this.link.resync(budget);
      answered = true;
      now = parseInfo(await this.exchange(Cmd.Info, EMPTY, {}, true));
    } catch (probe) {
      // stopped answering: not one byte back to several PINGs (a damaged link still sends some)
      const silent = !answered && this.link.lastHeardAt < probeStart;
      if (!timedOut || !silent || !(probe instanceof TimeoutError) || this.link.closedBy) return e;
      const err = new DeviceUnresponsiveError(cmd, this.has(DeviceCap.Emulator), budget);
      this.emit('unresponsive', err);
      return err;
    }
    if (now.bootId === known) return e;
    // a second reading must agree: a damaged reply that slipped past the 16-bit sum proves nothing
    try {
      if (parseInfo(await this.exchange(Cmd.Info, EMPTY, {}, true)).bootId !== now.bootId) return e;
    } catch {
      return e;
    }
    this.info = now;
    this.link.session = null; // gone with the restart
    const err = new DeviceRestartedError(cmd, now.resetReason, e);
    this.emit('restarted', err);
    return err;
  }

  private mayRetry(cmd: number, payload: Buffer, e: unknown, opts: RequestOptions): boolean {
    if (e instanceof DisconnectedError || opts.signal?.aborted) return false;
    if (e instanceof DeviceError) return this.notExecuted(cmd, payload, e.code);
    return (e instanceof TimeoutError || e instanceof ProtocolError) && IDEMPOTENT.has(cmd);
  }

  /** The device refused the frame itself (it arrived damaged), so the command did not run. */
  private notExecuted(cmd: number, payload: Buffer, code: number): boolean {
    if (code === Err.CHECKSUM) return true;
    const fits = this.maxPayload - this.link.overhead;
    if (code !== Err.PAYLOAD_TOO_LARGE || payload.length > fits) return false;
    // READ_MEM answers PAYLOAD_TOO_LARGE for a size above the maximum: a real refusal
    return !(cmd === Cmd.ReadMem && payload.length === 8 && payload.readUInt32LE(4) > this.maxPayload);
  }

  /** One round trip; `outside` the session for the boot id of a device that may have restarted. */
  private async exchange(cmd: number, payload: Buffer, opts: RequestOptions, outside = false): Promise<Buffer> {
    const frame = await this.link.roundTrip(cmd, payload, opts.timeoutMs ?? this.timeoutMs, opts.signal, outside);
    if (frame.flags === Flag.Error) {
      if (frame.payload.length < 4) throw new ProtocolError(`${cmdName(cmd)}: error reply without an error code`);
      const code = frame.payload.readUInt32LE(0);
      const detail: number[] = [];
      for (let o = 4; o + 4 <= frame.payload.length; o += 4) detail.push(frame.payload.readUInt32LE(o));
      // the request reached the device damaged: the link is not trusted until proven again
      if (code === Err.CHECKSUM || code === Err.PAYLOAD_TOO_LARGE) this.link.needResync = true;
      throw new DeviceError(cmd, code, detail);
    }
    return frame.payload;
  }

  /** A well-formed reply whose content cannot be right: fail, and resynchronise before the next request. */
  private damaged(message: string): ProtocolError {
    this.link.needResync = true;
    return new ProtocolError(message);
  }

  /** Adds what the host knows to a device refusal: the limit that was hit. */
  private withHint(e: unknown, callLimitMs?: number): unknown {
    if (!(e instanceof DeviceError)) return e;
    const info = this.info;
    const hint =
      e.code === Err.TABLE_FULL && info ? `the device holds at most ${info.maxAllocs} allocations: free one first`
      : e.code === Err.LIMIT_BYTES && info ? `the device allows ${info.maxAllocBytes} allocated bytes in all`
      : e.code === Err.TIMEOUT && callLimitMs ? `time limit ${callLimitMs} ms${this.has(DeviceCap.ICount) ? ` of emulated time, ${(callLimitMs * 1e6).toLocaleString('en-US')} instructions` : ''}`
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
