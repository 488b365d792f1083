/**
 * Names what a call overran: the device reports the allocation whose guard bytes changed, the
 * session knows which allocation is which function's code and where each argument lies in the
 * argument arena (marshal.ts), and the arena's own gaps tell which argument it was.
 */
import type { OverrunRecord } from '../protocol/payloads.js';
import type { GapDamage, MarshalledArguments } from './marshal.js';
import type { LoadedFunction, OverrunInfo } from './types.js';

const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

type Where = Pick<OverrunInfo, 'buffer' | 'parameter' | 'address' | 'size' | 'before' | 'after' | 'atLeast'>;

function describe(fn: string, w: Where, allocations: number): OverrunInfo {
  const far = (n: number) => `${w.atLeast ? 'at least ' : ''}${n} byte${n === 1 ? '' : 's'}`;
  const parts = [];
  if (w.after > 0) parts.push(`${fn} wrote past the end of ${w.buffer} (${w.size} bytes): ${far(w.after)} beyond it`);
  if (w.before > 0) parts.push(`${fn} wrote before the start of ${w.buffer} (${w.size} bytes): ${far(w.before)} before it`);
  const more = allocations > 1 ? `; ${allocations - 1} more allocation${allocations > 2 ? 's' : ''} damaged` : '';
  return { ...w, allocations, message: parts.join('; ') + more };
}

const argument = (name: string) => `argument '${name}'`;

/** The host's own gaps showed the overrun (the device's guards were intact). */
export function gapOverrun(fn: string, d: GapDamage): OverrunInfo {
  return describe(fn, {
    buffer: argument(d.parameter), parameter: d.parameter, address: d.address, size: d.size,
    before: 0, after: d.after, atLeast: d.reachedEnd,
  }, 1);
}

export interface OverrunContext {
  fn: LoadedFunction;
  others: LoadedFunction[];
  arena: { addr: number; size: number } | null;
  marshalled: MarshalledArguments;
  /** The argument image as it is on the device now (null when it cannot be read). */
  readImage: () => Promise<Buffer | null>;
}

/** The device found guard bytes changed: which buffer that is, and how far the write went. */
export async function deviceOverrun(rec: OverrunRecord, ctx: OverrunContext): Promise<OverrunInfo> {
  const { fn, arena, marshalled: m } = ctx;
  const whole = { parameter: null, address: rec.address, size: rec.size, before: rec.before, after: rec.after, atLeast: true };
  if (arena && rec.address === arena.addr && m.arrays.length) {
    const image = await ctx.readImage();
    const gap = image ? m.damaged(image)[0] : undefined;
    // an array's gap shows where it started, unless it is the last one and ran on into the guard
    if (gap && !(gap.last && rec.after > 0)) return { ...gapOverrun(fn.name, gap), allocations: rec.allocations };
    const arenaEnd = arena.addr + arena.size;
    const last = m.arrays[m.arrays.length - 1];
    const first = m.arrays[0];
    const name = rec.after > 0 ? last : first;
    return describe(fn.name, {
      buffer: argument(name.parameter), parameter: name.parameter, address: name.address, size: name.size,
      after: rec.after > 0 ? arenaEnd - (last.address + last.size) + rec.after : 0,
      before: rec.after > 0 ? 0 : first.address - arena.addr + rec.before,
      atLeast: true,
    }, rec.allocations);
  }
  const owner = [fn, ...ctx.others].find((f) => f.addr === rec.address);
  const buffer = owner ? `the code of ${owner.name}` : `the allocation at ${hex(rec.address)}`;
  return describe(fn.name, { ...whole, buffer }, rec.allocations);
}
