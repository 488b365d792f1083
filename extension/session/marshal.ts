/**
 * Lays a call's arguments out for the device: scalars in their slots, every array in one argument
 * arena (so all of them travel in a single WRITE_MEM), and the arrays the function may change in
 * one contiguous span at the arena's end (so one READ_MEM brings them all back).
 */
import { buildSlots, decodeArray, decodeReturn, formatArray, formatValue, parseArguments, type ArrayArgument, type JsValue } from '../../toolchain/args.js';
import type { FunctionSignature } from '../../toolchain/signature.js';
import type { ArgumentRecord } from './types.js';

const align = (n: number, a: number) => Math.ceil(n / a) * a;

export interface MarshalledArguments {
  records: ArgumentRecord[];
  /** Bytes the arrays need in device memory (0: no arrays). */
  arenaBytes: number;
  /** Fixes the arrays' addresses once the arena is known. */
  place(arena: number): MarshalledArguments;
  arenaImage: Buffer;
  slots: Buffer;
  copyBack: string[];
  copyBackStart: number;
  copyBackBytes: number;
  readBack(span: Buffer): Record<string, JsValue[]>;
  decodeReturn(slot: Buffer): { value: JsValue | null; display: string };
}

export function marshalArguments(sig: FunctionSignature, texts: string[]): MarshalledArguments {
  const args = parseArguments(texts, sig);
  const records: ArgumentRecord[] = args.map((a) => ({
    name: a.param.name,
    type: a.param.type.text,
    display: a.kind === 'scalar' ? formatValue(a.type, a.value) : a.isString ? JSON.stringify(Buffer.from(a.data).toString('utf8').replace(/\0$/, '')) : formatArray(a.element, a.values),
  }));
  // read-only arrays first, then the ones to copy back, so those form one span
  const arrays = args.map((a, i) => ({ a, i })).filter((x): x is { a: ArrayArgument; i: number } => x.a.kind === 'array');
  const ordered = [...arrays.filter((x) => !x.a.copyBack), ...arrays.filter((x) => x.a.copyBack)];
  const offsets = new Map<number, number>();
  let size = 0;
  for (const { a, i } of ordered) {
    size = align(size, Math.max(a.alignment, 8));
    offsets.set(i, size);
    size += Math.max(a.data.length, 1);
  }
  const arenaBytes = align(size, 16);
  const back = ordered.filter((x) => x.a.copyBack);

  const decode = (slot: Buffer) => {
    if (sig.returnType.kind === 'void') return { value: null, display: 'void' };
    const value = decodeReturn(sig.returnType, slot);
    if (value === undefined) return { value: null, display: 'void' };
    const kind = sig.returnType.kind as Parameters<typeof formatValue>[0];
    return { value, display: formatValue(kind, value, { hex: kind !== 'f32' && kind !== 'f64' && kind !== 'bool' }) };
  };

  const make = (arena: number): MarshalledArguments => {
    const image = Buffer.alloc(arenaBytes);
    for (const { a, i } of ordered) a.data.copy(image, offsets.get(i)!);
    const addresses = args.map((_, i) => (offsets.has(i) ? arena + offsets.get(i)! : undefined));
    const start = back.length ? offsets.get(back[0].i)! : 0;
    const end = back.length ? Math.max(...back.map(({ a, i }) => offsets.get(i)! + a.data.length)) : 0;
    return {
      records,
      arenaBytes,
      place: make,
      arenaImage: image,
      slots: buildSlots(args, addresses),
      copyBack: back.map(({ a }) => a.param.name),
      copyBackStart: arena + start,
      copyBackBytes: end - start,
      readBack(span: Buffer) {
        const out: Record<string, JsValue[]> = {};
        for (const { a, i } of back) {
          const off = offsets.get(i)! - start;
          out[a.param.name] = decodeArray(a.element, span.subarray(off, off + a.data.length));
        }
        return out;
      },
      decodeReturn: decode,
    };
  };
  return make(0);
}
