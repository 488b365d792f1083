/**
 * A fault-injecting link for tests: a Transport that sits between a DeviceClient and the real
 * transport and drops, flips and duplicates bytes at configurable per-byte rates, in each
 * direction on its own. The faults come from a seeded generator, one draw per byte and direction,
 * so the same seed gives the same faults for the same byte stream.
 */
import type { Transport } from '../../extension/device/transport.js';
import { FrameDecoder } from '../../extension/protocol/codec.js';
import { Cmd } from '../../extension/protocol/constants.js';

/** A small seeded generator (mulberry32): uniform floats in [0, 1). */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

/** Probability per byte of each fault; at most one fault hits a byte. */
export interface FaultRates {
  drop?: number;
  flip?: number;
  dup?: number;
}

/** A total rate shared equally by drops, flips and duplicates. */
export function mixedFaults(rate: number): FaultRates {
  return { drop: rate / 3, flip: rate / 3, dup: rate / 3 };
}

export interface FaultCounts {
  bytes: number;
  drops: number;
  flips: number;
  dups: number;
}

/** Applies faults to one direction of a byte stream. */
export class FaultInjector {
  readonly counts: FaultCounts = { bytes: 0, drops: 0, flips: 0, dups: 0 };
  /** Position in the clean stream of every fault, and whether it changed the length. */
  readonly log: { at: number; changesLength: boolean }[] = [];
  /** While false, bytes pass untouched and draw nothing from the generator. */
  enabled = true;

  constructor(private readonly rates: FaultRates, private readonly rng: Prng) {}

  apply(chunk: Uint8Array): Buffer {
    if (!this.enabled) {
      this.counts.bytes += chunk.length; // positions stay those of the whole stream
      return Buffer.from(chunk);
    }
    const { drop = 0, flip = 0, dup = 0 } = this.rates;
    const out: number[] = [];
    for (const b of chunk) {
      this.counts.bytes++;
      const r = this.rng.next();
      const at = this.counts.bytes - 1;
      if (r < drop) {
        this.counts.drops++;
        this.log.push({ at, changesLength: true });
      } else if (r < drop + flip) {
        this.counts.flips++;
        this.log.push({ at, changesLength: false });
        out.push(b ^ (1 << this.rng.below(8))); // line noise: one bit
      } else if (r < drop + flip + dup) {
        this.counts.dups++;
        this.log.push({ at, changesLength: true });
        out.push(b, b);
      } else {
        out.push(b);
      }
    }
    return Buffer.from(out);
  }

  get faults(): number {
    return this.counts.drops + this.counts.flips + this.counts.dups;
  }

  /** Faults that hit the clean stream's bytes [start, end). */
  faultsIn(start: number, end: number): { faults: number; lengthFaults: number } {
    let faults = 0;
    let lengthFaults = 0;
    // the log is in stream order: search from the end, where recent frames are
    for (let i = this.log.length - 1; i >= 0 && this.log[i].at >= start; i--) {
      if (this.log[i].at < end) {
        faults++;
        if (this.log[i].changesLength) lengthFaults++;
      }
    }
    return { faults, lengthFaults };
  }
}

/** One frame that crossed the link, with the faults that hit it. */
export interface FrameRecord {
  direction: 'toDevice' | 'toHost';
  cmd: number;
  faults: number;
  /** Drops and duplicates: they shift bytes, which a byte sum may miss (about 1 in 65536). */
  lengthFaults: number;
}

/** The command a frame carries: a SEALED frame's is the first byte of its payload. */
function innerCmd(cmd: number, first: number | undefined): number {
  return cmd === Cmd.Sealed && first !== undefined ? first : cmd;
}

/**
 * What a 16-bit byte sum cannot promise to catch: two or more faults in one frame (they can
 * cancel), or a shifted frame whose sum matches by chance.
 */

export function beyondChecksum(f: FrameRecord): boolean {
  return f.faults >= 2 || f.lengthFaults >= 1;
}

export interface FaultLinkOptions {
  seed: number;
  /** Faults on the bytes the host writes. */
  toDevice?: FaultRates;
  /** Faults on the bytes the device sends. */
  toHost?: FaultRates;
}

export class FaultLink implements Transport {
  readonly toDevice: FaultInjector;
  readonly toHost: FaultInjector;
  /** Every frame sent either way, in order (the host writes one frame per write). */
  readonly frames: FrameRecord[] = [];
  private dataHandlers: ((chunk: Buffer) => void)[] = [];
  /** Finds the frames in the device's clean stream, to charge each fault to its frame. */
  private readonly cleanDecoder = new FrameDecoder();
  private cleanOffset = 0;

  constructor(private readonly inner: Transport, opts: FaultLinkOptions) {
    // one generator per direction: the faults of one side do not depend on the timing of the other
    this.toDevice = new FaultInjector(opts.toDevice ?? {}, new Prng(opts.seed));
    this.toHost = new FaultInjector(opts.toHost ?? {}, new Prng(opts.seed ^ 0x5a5a5a5a));
    inner.onData((chunk) => {
      const out = this.toHost.apply(chunk);
      this.trackDeviceFrames(chunk);
      if (out.length) for (const fn of this.dataHandlers) fn(out);
    });
  }

  /** Frames recorded since a mark (a length of `frames`). */
  framesSince(mark: number): FrameRecord[] {
    return this.frames.slice(mark);
  }

  private trackDeviceFrames(chunk: Buffer): void {
    for (const ev of this.cleanDecoder.push(chunk)) {
      if (ev.kind === 'garbage') {
        this.cleanOffset += ev.bytes;
      } else if (ev.kind === 'frame') {
        const end = this.cleanOffset + 10 + ev.frame.payload.length;
        if (this.toHost.enabled) this.frames.push({ direction: 'toHost', cmd: innerCmd(ev.frame.cmd, ev.frame.payload[0]), ...this.toHost.faultsIn(this.cleanOffset, end) });
        this.cleanOffset = end;
      }
    }
  }

  get description(): string {
    return `${this.inner.description} (fault-injecting)`;
  }

  /** Turns faults on or off in both directions (e.g. for setup and for reconciliation). */
  set enabled(on: boolean) {
    this.toDevice.enabled = on;
    this.toHost.enabled = on;
  }

  get enabled(): boolean {
    return this.toDevice.enabled;
  }

  write(data: Buffer): Promise<void> {
    const start = this.toDevice.counts.bytes;
    const out = this.toDevice.apply(data);
    if (this.toDevice.enabled) {
      this.frames.push({ direction: 'toDevice', cmd: innerCmd(data[2], data[8]), ...this.toDevice.faultsIn(start, start + data.length) });
    }
    return out.length ? this.inner.write(out) : Promise.resolve();
  }

  onData(fn: (chunk: Buffer) => void): void {
    this.dataHandlers.push(fn);
  }

  onClose(fn: (err?: Error) => void): void {
    this.inner.onClose(fn);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A transport that records every byte the host writes (to check what crosses the wire). */
export class RecordingLink implements Transport {
  readonly written: Buffer[] = [];

  constructor(private readonly inner: Transport) {}

  get description(): string {
    return this.inner.description;
  }

  get bytes(): Buffer {
    return Buffer.concat(this.written);
  }

  write(data: Buffer): Promise<void> {
    this.written.push(Buffer.from(data));
    return this.inner.write(data);
  }

  onData(fn: (chunk: Buffer) => void): void {
    this.inner.onData(fn);
  }

  onClose(fn: (err?: Error) => void): void {
    this.inner.onClose(fn);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
