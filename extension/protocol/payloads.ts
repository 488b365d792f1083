/** Request payload builders and reply payload parsers, one per command (docs/protocol.md). */
import { ProtocolError } from './errors.js';
import { DeviceCap, Err } from './constants.js';

export function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32LE(v >>> 0, 4 * i));
  return b;
}

function need(payload: Buffer, bytes: number, what: string): void {
  if (payload.length < bytes) throw new ProtocolError(`${what} reply has ${payload.length} bytes, expected ${bytes}`);
}

export interface HeapInfo {
  freeSpiram: number;
  totalSpiram: number;
  freeInternal: number;
  totalInternal: number;
}

export function parseHeapInfo(p: Buffer): HeapInfo {
  need(p, 16, 'HEAP_INFO');
  return { freeSpiram: p.readUInt32LE(0), totalSpiram: p.readUInt32LE(4), freeInternal: p.readUInt32LE(8), totalInternal: p.readUInt32LE(12) };
}

export interface FaultRecord {
  mcause: number;
  mepc: number;
  mtval: number;
  entry: number;
}

export interface DeviceInfo {
  protocolVersion: number;
  maxPayload: number;
  cacheLine: number;
  capabilities: number;
  cpuHz: number;
  resetReason: number;
  maxAllocs: number;
  maxAllocBytes: number;
  defaultCallMs: number;
  maxCallMs: number;
  firmwareId: string; // hex SHA-256
  lastFault: FaultRecord | null;
  board: string;
  maxArgs: number;
  /** Drawn anew each time the device (re)starts: a new value means every allocation is gone. null: not reported. */
  bootId: number | null;
}

/** INFO's length before bootId was appended; longer replies carry newer fields. */
export const INFO_SIZE = 112;

/**
 * What the `cycles` field of a CALL reply counts on this device (docs/protocol.md, INFO):
 * - `instructions`: instructions executed (the emulator under QEMU -icount; exact, repeatable);
 * - `host-ticks`: the host's clock ticks at cpu_hz (the emulator without -icount): how long the
 *   emulation took, not the guest's work, so only the time derived from them is shown, as wall time;
 * - `cycles`: CPU cycles at cpu_hz (a board).
 */
export type CounterKind = 'instructions' | 'host-ticks' | 'cycles';

export function counterKind(info: Pick<DeviceInfo, 'capabilities'>): CounterKind {
  if (info.capabilities & DeviceCap.ICount) return 'instructions';
  return info.capabilities & DeviceCap.Emulator ? 'host-ticks' : 'cycles';
}

export function parseInfo(p: Buffer): DeviceInfo {
  need(p, INFO_SIZE, 'INFO');
  const w = (o: number) => p.readUInt32LE(o);
  return {
    protocolVersion: w(0),
    maxPayload: w(4),
    cacheLine: w(8),
    capabilities: w(12),
    cpuHz: w(16),
    resetReason: w(20),
    maxAllocs: w(24),
    maxAllocBytes: w(28),
    defaultCallMs: w(32),
    maxCallMs: w(36),
    firmwareId: p.subarray(40, 72).toString('hex'),
    lastFault: w(72) ? { mcause: w(76), mepc: w(80), mtval: w(84), entry: w(88) } : null,
    board: p.subarray(92, 108).toString('latin1').replace(/\0.*$/s, ''),
    maxArgs: w(108),
    bootId: p.length >= 116 ? w(112) : null,
  };
}

export interface AllocEntry {
  addr: number;
  size: number;
  caps: number;
}

export function parseAllocList(p: Buffer): AllocEntry[] {
  need(p, 4, 'LIST_ALLOCS');
  const count = p.readUInt32LE(0);
  need(p, 4 + 12 * count, 'LIST_ALLOCS');
  const out: AllocEntry[] = [];
  for (let i = 0; i < count; i++) {
    const o = 4 + 12 * i;
    out.push({ addr: p.readUInt32LE(o), size: p.readUInt32LE(o + 4), caps: p.readUInt32LE(o + 8) });
  }
  return out;
}

export interface CallReply {
  /** the raw 8-byte return slot */
  ret: Buffer;
  cycles: bigint;
  timeUs: number;
}

export function parseCallReply(p: Buffer): CallReply {
  need(p, 20, 'CALL');
  return { ret: Buffer.from(p.subarray(0, 8)), cycles: p.readBigUInt64LE(8), timeUs: p.readUInt32LE(16) };
}

/** A device's report of guard bytes found overwritten after a call (docs/protocol.md, OVERRUN). */
export interface OverrunRecord {
  /** The allocation (as ALLOC returned it) and its size. */
  address: number;
  size: number;
  /** How far before its start and past its end the damage reached, as far as the guards show. */
  before: number;
  after: number;
  /** How many allocations were damaged (the record is the lowest-addressed one). */
  allocations: number;
}

export const OVERRUN_WORDS = 5;

/** The overrun record at the end of an error's detail words, if it carries one. */
export function overrunRecord(code: number, detail: number[]): OverrunRecord | null {
  const own = code === Err.FAULT ? 3 : code === Err.TIMEOUT ? 1 : code === Err.OVERRUN ? 0 : -1;
  if (own < 0 || detail.length < own + OVERRUN_WORDS) return null;
  const [address, size, before, after, allocations] = detail.slice(own, own + OVERRUN_WORDS);
  return { address, size, before, after, allocations };
}
