/** Request payload builders and reply payload parsers, one per command (docs/protocol.md). */
import { ProtocolError } from '../device/errors.js';

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
}

export const INFO_SIZE = 112;

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
