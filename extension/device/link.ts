/**
 * The link: one frame exchange at a time over a transport, and the work of keeping it in step.
 *
 * How a noisy or broken link is kept from ever turning into a wrong answer:
 * - While a request waits, the device sends nothing but its reply (and OUTPUT frames during a
 *   call). Anything else — a corrupt frame, stray bytes, a reply to another command, a PING echo
 *   that is not ours — fails the request with a ProtocolError instead of being taken as the answer.
 * - After any failure the link is resynchronised before the next request: PINGs carrying fresh
 *   nonces until one comes back intact, so late replies are drained and dropped first.
 * - Lost bytes are noticed early: a reply that stops halfway fails after replyStallMs, and a
 *   request with no answer gets a few zero bytes behind it (nudgeMs), which make a device that
 *   still waits for the lost bytes refuse the frame with CHECKSUM.
 * - With a device that seals (INFO capability), every request and reply is a SEALED frame: a
 *   CRC-32 over the whole frame and a sequence byte. The seed's 16-bit byte sum alone lets two
 *   changes in one frame cancel out, or a frame shifted by a lost and a doubled byte keep its sum
 *   (test/e2e/link-faults.test.ts measures both modes).
 * - Once authenticated with a device that offers sessions, every request and reply is a SESSION
 *   frame instead: a counter and a MAC under the session key, so neither a damaged frame nor one
 *   from another program on the port is taken as the session's.
 */
import { randomBytes } from 'node:crypto';

import { encodeFrame, FrameDecoder, type Frame } from '../protocol/codec.js';
import { Cmd, cmdName, Err, Flag, SEAL_OVERHEAD, SESSION_OVERHEAD } from '../protocol/constants.js';
import { encodeSealed, isPlainSealedRefusal, unseal } from '../protocol/seal.js';
import { encodeSession, isPlainSessionRefusal, openSession } from '../protocol/session.js';
import { DisconnectedError, ProtocolError, TimeoutError } from './errors.js';
import type { Transport } from './transport.js';

export interface LinkTimings {
  /** How long a resynchronising PING waits before the next one (ms); see ClientOptions. */
  resyncIntervalMs: number;
  /** A reply that stops arriving halfway for this long has lost bytes (ms). */
  replyStallMs: number;
  /** A request with no byte of reply after this long gets filler bytes behind it (ms; 0 = never). */
  nudgeMs: number;
}

export interface LinkStats {
  requests: number;
  staleFrames: number;
  badFrames: number;
  strayBytes: number;
  resyncs: number;
  retries: number;
  nudges: number;
  sealed: number;
}

/** Who is waiting for the device: a request (strict), or a resynchronising PING. */
type Waiter =
  | { kind: 'request'; cmd: number; seq?: number; counter?: number; echo?: Buffer; settle(r: Frame | Error): void }
  | { kind: 'resync'; nonce: Buffer; settle(r: 'ok' | 'damaged' | 'silent' | Error): void };

/**
 * Filler for a frame the device still waits for: zeros complete it with a checksum that cannot
 * match (any frame sums to 256 or more; only a long one can wrap, by a 1 in 65536 chance).
 */
const NUDGE = Buffer.alloc(8);

export class Link {
  private decoder = new FrameDecoder();
  private waiter: Waiter | null = null;
  /** The link must be proven in step before the next request. */
  needResync = false;
  /** The last failure was a timeout: the device may still be collecting a frame. */
  private maybeMidFrame = false;
  private lastSendAt = 0;
  /** When the last byte came from the device (ms since the epoch). */
  lastHeardAt = 0;
  private closedError: Error | null = null;
  private stallTimer: NodeJS.Timeout | undefined;
  private bytesReceived = 0;
  private seq = 0;
  /** Requests go out SEALED (set once INFO shows the device can). */
  sealing = false;
  /** The authenticated session: requests go out in SESSION frames MACed with its key. */
  session: { key: Buffer; counter: number } | null = null;
  readonly stats: LinkStats = { requests: 0, staleFrames: 0, badFrames: 0, strayBytes: 0, resyncs: 0, retries: 0, nudges: 0, sealed: 0 };

  constructor(
    readonly transport: Transport,
    private readonly timings: LinkTimings,
    private readonly events: { output(text: string): void; disconnect(e: DisconnectedError): void },
  ) {
    transport.onData((chunk) => {
      this.lastHeardAt = Date.now();
      this.onBytes(chunk);
    });
    transport.onClose((err) => this.onClosed(err));
  }

  /** A request or resynchronisation is waiting for the device. */
  get busy(): boolean {
    return this.waiter !== null;
  }

  /** Why the link is closed, or null while it is open. */
  get closedBy(): Error | null {
    return this.closedError;
  }

  /** Replies longer than this are refused at their header instead of waited for. */
  setLongestReply(bytes: number): void {
    this.decoder = new FrameDecoder(bytes);
  }

  /** Marks the link closed by us; the transport is closed by the caller. */
  markClosed(): void {
    this.closedError ??= new DisconnectedError('the connection was closed');
  }

  /** Bytes a request's wrapping adds to its payload (SEALED or SESSION). */
  get overhead(): number {
    return this.session ? SESSION_OVERHEAD : this.sealing ? SEAL_OVERHEAD : 0;
  }

  /**
   * Sends one request and waits for its reply frame (sealed ones arrive opened). `outside` sends
   * it outside the session (only PING and INFO work so: e.g. reading the boot id of a device that
   * may have restarted and forgotten the session).
   */
  roundTrip(cmd: number, payload: Buffer, timeoutMs: number, signal?: AbortSignal, outside = false): Promise<Frame> {
    if (this.closedError) return Promise.reject(this.closedError);
    this.stats.requests++;
    this.decoder.reset(); // bytes left from before answer nothing we are about to ask
    const session = outside ? null : this.session;
    const seq = this.sealing || session ? (this.seq = (this.seq + 1) & 0xff) : undefined;
    const counter = session ? ++session.counter : undefined;
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
      const waiter: Waiter = { kind: 'request', cmd, seq, counter, echo: cmd === Cmd.Ping ? payload : undefined, settle };
      const timer = setTimeout(() => settle(new TimeoutError(`no reply to ${cmdName(cmd)} within ${timeoutMs} ms`)), timeoutMs);
      const onAbort = () => settle(new TimeoutError(`${cmdName(cmd)} cancelled`));
      const nudge = this.nudgeLater(waiter);
      this.waiter = waiter;
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort);
      if (seq !== undefined) this.stats.sealed++;
      this.send(session ? encodeSession(session.key, cmd, seq!, counter!, payload)
        : seq === undefined ? encodeFrame(cmd, Flag.Request, payload) : encodeSealed(cmd, seq, payload), settle);
    });
  }

  /**
   * Proves the link is in step: PINGs with fresh nonces until one comes back intact. Everything
   * the device sent before that echo (late replies, answers to damaged frames) is dropped.
   */
  async resync(budgetMs: number): Promise<void> {
    this.stats.resyncs++;
    const deadline = Date.now() + budgetMs;
    if (this.maybeMidFrame) {
      // after a timeout the device may still be collecting a frame that would swallow the PING
      await sleep(Math.min(this.lastSendAt + this.timings.resyncIntervalMs - Date.now(), deadline - Date.now()));
    }
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`the device did not answer (resynchronising the link) within ${budgetMs} ms`);
      // 'damaged': the device answered something mangled: ping again at once. 'silent': the PING
      // was lost or swallowed by a frame the device was collecting, which it has abandoned by now.
      if ((await this.pingOnce(Math.min(this.timings.resyncIntervalMs, left))) === 'ok') break;
    }
    this.needResync = false;
    this.maybeMidFrame = false;
  }

  // ---- internals ----

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
      // outlast the device's inter-byte timeout so that a frame with a damaged length is abandoned.
      // Plain, not sealed: an echo of 8 fresh random bytes is its own proof.
      this.waiter = waiter;
      this.send(encodeFrame(Cmd.Ping, Flag.Request, nonce), settle);
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
    if (this.timings.nudgeMs <= 0) return undefined;
    const received = this.bytesReceived;
    return setTimeout(() => {
      if (this.waiter !== waiter || this.bytesReceived !== received || this.closedError) return;
      this.stats.nudges++;
      this.lastSendAt = Date.now(); // resync keeps quiet for long enough after this too
      this.transport.write(NUDGE).catch(() => undefined); // a lost link is reported by onClose
    }, this.timings.nudgeMs);
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
          this.onDamage(`a reply cut short (no byte for ${this.timings.replyStallMs} ms)`);
        }
      }, this.timings.replyStallMs);
      this.stallTimer.unref();
    }
  }

  /** Damage on the link never becomes a result: the request fails and the link is resynchronised. */
  private onDamage(what: string): void {
    const w = this.waiter;
    if (w?.kind === 'resync') w.settle('damaged');
    else w?.settle(new ProtocolError(`${what} while waiting for the ${cmdName(w.cmd)} reply`));
  }

  private onFrame(raw: Frame): void {
    if (raw.flags === Flag.Request) {
      this.stats.staleFrames++; // our own frame echoed back by a terminal
      return;
    }
    let f = raw;
    let seq: number | undefined;
    let counter: number | undefined;
    if (raw.cmd === Cmd.Sealed && !isPlainSealedRefusal(raw)) {
      const opened = unseal(raw);
      if (!opened.ok) {
        this.stats.badFrames++;
        this.onDamage(opened.why);
        return;
      }
      ({ frame: f, seq } = opened);
    } else if (raw.cmd === Cmd.Session && !isPlainSessionRefusal(raw)) {
      if (!this.session) {
        this.stats.staleFrames++; // a late reply of a session that has ended
        return;
      }
      const opened = openSession(this.session.key, raw);
      if (!opened.ok) {
        this.stats.badFrames++;
        this.onDamage(opened.why);
        return;
      }
      ({ frame: f, seq, counter } = opened);
    }
    const w = this.waiter;
    if (f.cmd === Cmd.Output && f.flags === Flag.Ok) {
      // once sealing, only output sealed with the running call's number is the call's own
      const own = w?.kind === 'request' && (w.counter !== undefined ? w.counter === counter : w.seq === seq);
      if ((this.sealing || this.session) && (seq === undefined || !own)) this.stats.staleFrames++;
      else this.events.output(f.payload.toString('utf8'));
      return;
    }
    if (!w) {
      this.stats.staleFrames++; // a late reply
      return;
    }
    if (w.kind === 'resync') {
      if (seq === undefined && f.cmd === Cmd.Ping && f.flags === Flag.Ok && f.payload.equals(w.nonce)) w.settle('ok');
      else if (seq === undefined && f.flags === Flag.Error) w.settle('damaged'); // the device saw a damaged frame
      else this.stats.staleFrames++; // drained: a late reply to an earlier request
      return;
    }
    if ((w.seq !== undefined && seq !== undefined && seq !== w.seq) || (w.counter !== undefined && counter !== undefined && counter !== w.counter)) {
      this.stats.staleFrames++; // a late reply to an earlier request, told apart by its number
      return;
    }
    const code = f.flags === Flag.Error && f.payload.length >= 4 ? f.payload.readUInt32LE(0) : -1;
    // a damaged request can reach the device with its command byte changed: still our refusal;
    // so is a SESSION frame whose MAC did not match (CHECKSUM) or a session the device no longer has
    const refusal = f.cmd !== w.cmd && seq === undefined &&
      (code === Err.CHECKSUM || code === Err.PAYLOAD_TOO_LARGE || (w.counter !== undefined && f.cmd === Cmd.Session && code === Err.NOT_AUTHENTICATED));
    if (f.flags !== Flag.Ok && f.flags !== Flag.Error) {
      w.settle(new ProtocolError(`a ${cmdName(f.cmd)} frame with unknown flags 0x${f.flags.toString(16)}`));
    } else if (refusal) {
      w.settle({ ...f, cmd: w.cmd });
    } else if (w.counter !== undefined && counter === undefined) {
      w.settle(new ProtocolError(`a ${cmdName(f.cmd)} reply outside the session while waiting for the ${cmdName(w.cmd)} reply in it`));
    } else if (w.seq !== undefined && seq === undefined) {
      w.settle(new ProtocolError(`an unsealed ${cmdName(f.cmd)} reply while waiting for the sealed ${cmdName(w.cmd)} reply`));
    } else if (f.cmd !== w.cmd) {
      w.settle(new ProtocolError(`a ${cmdName(f.cmd)} reply while waiting for the ${cmdName(w.cmd)} reply`));
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
    if (wasOpen) this.events.disconnect(e);
  }
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
