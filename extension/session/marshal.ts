/**
 * Lays a call's arguments out for the device: scalars in their slots, every array in one argument
 * arena (so all of them travel in a single WRITE_MEM), and the arrays the function may change in
 * one contiguous span at the arena's end (so one READ_MEM brings them all back).
 *
 * Every byte between and after the arrays holds a known pattern, and the last array ends where
 * the arena (and so the device's guard bytes) ends: a write past an array's end changes the gap
 * behind it, which names the parameter, or the device's guard, which the device reports.
 */
import {
  buildSlots, decodeArray, decodeReturn,
  type ArgumentOptions, type ArgumentSize, type ArrayArgument, type JsValue,
} from '../../toolchain/args.js';
import { KINDS, type ElementKind, type ScalarKind } from '../../toolchain/ctypes.js';
import { MallocCap } from '../protocol/constants.js';
import type { HeapInfo } from '../protocol/payloads.js';
import type { FunctionSignature } from '../../toolchain/signature.js';
import { toArguments, type ArgumentInput } from '../../toolchain/value-args.js';
import { formatArray, formatValue, PREVIEW_ITEMS } from './format.js';
import type { ArgumentRecord } from './types.js';

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/**
 * Values of an input array a call's record shows: as many as any view prints (a 48,000-sample
 * input is not formatted in full on every call; its whole value is the caller's own array).
 */
const RECORD_ITEMS = PREVIEW_ITEMS;

/** Pattern bytes between arrays: at least this many follow every array but the last. */
const GAP = 16;
const pattern = (offset: number) => (0xd5 + 0x3b * offset) & 0xff;

/** An array whose gap was found written: how far past its end the damage reached. */
export interface GapDamage {
  parameter: string;
  /** Device address and size of the array. */
  address: number;
  size: number;
  after: number;
  /** The damage reached the next array or the arena's end: it may go farther. */
  reachedEnd: boolean;
  /** The array is the last in the arena (its overrun continues into the device's guard). */
  last: boolean;
}

export interface MarshalledArguments {
  records: ArgumentRecord[];
  /** Bytes the arrays need in device memory (0: no arrays). */
  arenaBytes: number;
  /** Fixes the arrays' addresses for an arena at arena of room bytes (they go at its end). */
  place(arena: number, room?: number): MarshalledArguments;
  /** Device address of the image (arenaImage goes there). */
  base: number;
  /** The arrays as laid out, lowest address first. */
  arrays: { parameter: string; address: number; size: number }[];
  arenaImage: Buffer;
  slots: Buffer;
  copyBack: string[];
  /** The element type of each array in copyBack, and the return type (null: void). */
  kinds: { return: ScalarKind | null; arrays: Record<string, ElementKind> };
  copyBackStart: number;
  copyBackBytes: number;
  readBack(span: Buffer): Record<string, JsValue[]>;
  /** Gaps of the copied-back arrays found written, in the span readBack got. */
  damagedInCopyBack(span: Buffer): GapDamage[];
  /** Gaps of all arrays found written, in the whole image read back from base. */
  damaged(image: Buffer): GapDamage[];
  decodeReturn(slot: Buffer): { value: JsValue | null; display: string };
}

export function marshalArguments(sig: FunctionSignature, inputs: readonly ArgumentInput[], opts: ArgumentOptions = {}): MarshalledArguments {
  const args = toArguments(inputs, sig, opts);
  const records: ArgumentRecord[] = args.map((a) => ({
    name: a.param.name,
    type: a.param.type.text,
    display: a.kind === 'scalar' ? formatValue(a.type, a.value) : a.isString ? JSON.stringify(Buffer.from(a.data).toString('utf8').replace(/\0$/, '')) : formatArray(a.element, a.values, RECORD_ITEMS),
  }));
  // read-only arrays first, then the ones to copy back, so those form one span
  const arrays = args.map((a, i) => ({ a, i })).filter((x): x is { a: ArrayArgument; i: number } => x.a.kind === 'array');
  const ordered = [...arrays.filter((x) => !x.a.copyBack), ...arrays.filter((x) => x.a.copyBack)];
  const offsets = new Map<number, number>();
  const arenaBytes = layout(ordered.map(({ a }) => ({ bytes: a.data.length, alignment: a.alignment })), (k, at) => offsets.set(ordered[k].i, at));
  const back = ordered.filter((x) => x.a.copyBack);
  const image = Buffer.alloc(arenaBytes);
  for (let o = 0; o < arenaBytes; o++) image[o] = pattern(o);
  for (const { a, i } of ordered) a.data.copy(image, offsets.get(i)!);
  // from the first array to copy back through the arena's end: its gaps come back too
  const start = back.length ? offsets.get(back[0].i)! : 0;
  const end = back.length ? arenaBytes : 0;

  /** Damage in the gaps of the arrays in `which`, given bytes of the image from offset `from`. */
  const scan = (bytes: Buffer, from: number, which: typeof ordered, base: number): GapDamage[] => {
    const out: GapDamage[] = [];
    for (const { a, i } of which) {
      const at = ordered.findIndex((x) => x.i === i);
      const dataEnd = offsets.get(i)! + a.data.length;
      const next = at + 1 < ordered.length ? offsets.get(ordered[at + 1].i)! : arenaBytes;
      let last = -1;
      for (let o = dataEnd; o < next; o++) if (bytes[o - from] !== pattern(o)) last = o;
      if (last >= 0) {
        out.push({
          parameter: a.param.name, address: base + offsets.get(i)!, size: a.data.length,
          after: last - dataEnd + 1, reachedEnd: last === next - 1, last: at === ordered.length - 1,
        });
      }
    }
    return out;
  };
  const kinds = {
    return: sig.returnType.kind === 'void' || sig.returnType.kind === 'invalid' ? null : sig.returnType.kind,
    arrays: Object.fromEntries(back.map(({ a }) => [a.param.name, a.element])),
  };

  const decode = (slot: Buffer) => {
    if (sig.returnType.kind === 'void') return { value: null, display: 'void' };
    const value = decodeReturn(sig.returnType, slot);
    if (value === undefined) return { value: null, display: 'void' };
    const kind = sig.returnType.kind as ScalarKind;
    return { value, display: formatValue(kind, value, { hex: kind !== 'f32' && kind !== 'f64' && kind !== 'bool' }) };
  };

  const make = (arena: number, room = arenaBytes): MarshalledArguments => {
    const base = arena + room - arenaBytes;
    const addresses = args.map((_, i) => (offsets.has(i) ? base + offsets.get(i)! : undefined));
    return {
      records,
      arenaBytes,
      place: make,
      base,
      arrays: ordered.map(({ a, i }) => ({ parameter: a.param.name, address: base + offsets.get(i)!, size: a.data.length })),
      arenaImage: image,
      slots: buildSlots(args, addresses),
      copyBack: back.map(({ a }) => a.param.name),
      kinds,
      copyBackStart: base + start,
      copyBackBytes: end - start,
      readBack(span: Buffer) {
        const out: Record<string, JsValue[]> = {};
        for (const { a, i } of back) {
          const off = offsets.get(i)! - start;
          out[a.param.name] = decodeArray(a.element, span.subarray(off, off + a.data.length));
        }
        return out;
      },
      damagedInCopyBack: (span) => scan(span, start, back, base),
      damaged: (whole) => scan(whole, 0, ordered, base),
      decodeReturn: decode,
    };
  };
  return make(0);
}

/** Places arrays one after another, each aligned, with a gap between them; returns the arena size they need. */
function layout(arrays: Array<{ bytes: number; alignment: number }>, place: (index: number, offset: number) => void = () => undefined): number {
  let size = 0;
  arrays.forEach((a, k) => {
    if (k > 0) size += GAP;
    size = align(size, Math.max(a.alignment, 8));
    place(k, size);
    size += Math.max(a.bytes, 1);
  });
  return align(size, 16);
}

/** The arena bytes a call's arrays need, from their measured sizes (nothing built yet). */
export function arenaBytesFor(sizes: ArgumentSize[]): number {
  return layout(sizes.flatMap((s) => (s.kind === 'array' ? [s] : [])));
}

const mib = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${n} bytes`);

/**
 * Why arrays of these sizes cannot fit in the device heap for `caps` (with `reusable` bytes of an
 * argument arena that would be freed first), or null when they may. Free bytes are not the
 * largest free block, so "may" can still end in ALLOC_FAIL; "cannot" is certain, and is said
 * before a byte of the arrays is built or sent.
 */
export function roomProblem(sizes: ArgumentSize[], arenaBytes: number, heap: HeapInfo, caps: number, reusable: number): string | null {
  const internalOnly = (caps & MallocCap.INTERNAL) !== 0 && (caps & MallocCap.SPIRAM) === 0;
  const region = internalOnly ? 'internal RAM' : (caps & MallocCap.SPIRAM) !== 0 ? 'PSRAM' : 'heap';
  const free = (internalOnly ? heap.freeInternal : (caps & MallocCap.SPIRAM) !== 0 ? heap.freeSpiram : Math.max(heap.freeSpiram, heap.freeInternal)) + reusable;
  if (arenaBytes <= free) return null;
  const largest = sizes.reduce<ArgumentSize | null>((a, s) => (s.kind === 'array' && (!a || a.kind !== 'array' || s.bytes > a.bytes) ? s : a), null);
  const which = largest?.kind === 'array'
    ? ` (the largest, '${largest.param.name}', is ${largest.elements} ${KINDS[largest.element].name} values, ${mib(largest.bytes)})` : '';
  return `the array arguments need ${mib(arenaBytes)} on the device${which} but its ${region} has ${mib(free)} free: ` +
    'pass smaller arrays, or free memory (p4jit free --all)';
}
