// Host side of the typed call: turns the user's argument strings into 8-byte argument slots and
// device buffers, and the returned slot and copied-back buffers into JS values.
// Slot format (docs/protocol.md, CALL): little-endian; integers sign- or zero-extended to 64 bits,
// a float's bits in the low 4 bytes, a double in all 8, bool 0/1, a pointer as an unsigned 32-bit address.
import { resolve } from 'node:path';

import { arrayFileCount, isFileReference, readArrayFile } from './array-input.js';
import { isGenerator, parseGenerator } from './generators.js';
import { KINDS, type CType, type ElementKind, type ScalarKind } from './ctypes.js';
import type { Param } from './signature.js';

import { parseIntegerText, parseScalar, type JsValue } from './number-text.js';
import { InputError } from './errors.js';
import { P4JitError } from '../extension/util/errors.js';

export { decimalToFloat32, formatFloat, parseFloatText, parseIntegerText, parseScalar, type JsValue } from './number-text.js';

export class ArgumentError extends P4JitError {
  /** The message without the parameter prefix (for an input box that already names the parameter). */
  readonly reason: string;
  constructor(readonly param: string, message: string) {
    super(`argument '${param}': ${message}`);
    this.reason = message;
    this.name = 'ArgumentError';
  }
}

/** A value that travels in its slot. */
export interface ScalarArgument {
  kind: 'scalar';
  param: Param;
  type: ScalarKind;
  value: JsValue;
  slot: Buffer;
}

/** A list for a pointer parameter: allocate `data.length` bytes on the device, write, pass the address. */
export interface ArrayArgument {
  kind: 'array';
  param: Param;
  element: ElementKind;
  values: JsValue[];
  /** The bytes to write (little-endian elements; a string gets a terminating NUL). */
  data: Buffer;
  /** Alignment to ask ALLOC for. */
  alignment: number;
  /** The function may write through the pointer (not const): read the buffer back after the call. */
  copyBack: boolean;
  /** Given as a string literal. */
  isString: boolean;
}

export type Argument = ScalarArgument | ArrayArgument;

// ---------------------------------------------------------------- slots

/** The 8-byte slot for a scalar value of kind `kind` (the value must already be in range). */
export function encodeScalar(kind: ScalarKind, value: JsValue): Buffer {
  const slot = Buffer.alloc(8);
  switch (kind) {
    case 'f32': slot.writeFloatLE(Number(value), 0); break;
    case 'f64': slot.writeDoubleLE(Number(value), 0); break;
    case 'bool': slot[0] = value ? 1 : 0; break;
    default: {
      const v = BigInt(value);
      const { min, max } = KINDS[kind];
      if (v < min! || v > max!) throw new InputError(`${v} is out of range for ${KINDS[kind].name}`);
      // Signed kinds are sign-extended, unsigned and pointers zero-extended.
      if (KINDS[kind].signed) slot.writeBigInt64LE(v, 0);
      else slot.writeBigUInt64LE(v, 0);
    }
  }
  return slot;
}

/** The value of kind `kind` held in an 8-byte slot (only the kind's own low bytes are read). */
export function decodeScalar(kind: ScalarKind, slot: Buffer): JsValue {
  return readElement(kind, slot, 0);
}

/** The function's result from the CALL reply's `ret` slot; undefined for void. */
export function decodeReturn(type: CType, ret: Buffer): JsValue | undefined {
  if (type.kind === 'void') return undefined;
  if (type.kind === 'invalid') throw new InputError(`cannot decode a return of type '${type.text}'`);
  return decodeScalar(type.kind, ret);
}

function readElement(kind: ScalarKind, buf: Buffer, at: number): JsValue {
  switch (kind) {
    case 'i8': return buf.readInt8(at);
    case 'u8': return buf.readUInt8(at);
    case 'i16': return buf.readInt16LE(at);
    case 'u16': return buf.readUInt16LE(at);
    case 'i32': return buf.readInt32LE(at);
    case 'u32': case 'ptr': return buf.readUInt32LE(at);
    case 'i64': return buf.readBigInt64LE(at);
    case 'u64': return buf.readBigUInt64LE(at);
    case 'bool': return buf[at] !== 0;
    case 'f32': return buf.readFloatLE(at);
    case 'f64': return buf.readDoubleLE(at);
  }
}

/** Little-endian bytes of an array of `kind` (values already in range: parseScalar checked them). */
export function encodeArray(kind: ElementKind, values: JsValue[]): Buffer {
  const size = KINDS[kind].size;
  const buf = Buffer.alloc(values.length * size);
  for (let i = 0; i < values.length; i++) writeElement(kind, buf, i * size, values[i]);
  return buf;
}

function writeElement(kind: ElementKind, buf: Buffer, at: number, v: JsValue): void {
  switch (kind) {
    case 'i8': buf.writeInt8(Number(v), at); break;
    case 'u8': buf.writeUInt8(Number(v), at); break;
    case 'i16': buf.writeInt16LE(Number(v), at); break;
    case 'u16': buf.writeUInt16LE(Number(v), at); break;
    case 'i32': buf.writeInt32LE(Number(v), at); break;
    case 'u32': buf.writeUInt32LE(Number(v), at); break;
    case 'i64': buf.writeBigInt64LE(BigInt(v), at); break;
    case 'u64': buf.writeBigUInt64LE(BigInt(v), at); break;
    case 'bool': buf[at] = v ? 1 : 0; break;
    case 'f32': buf.writeFloatLE(Number(v), at); break;
    case 'f64': buf.writeDoubleLE(Number(v), at); break;
  }
}

/** Elements of `kind` in `bytes` (e.g. a buffer read back after the call). */
export function decodeArray(kind: ElementKind, bytes: Buffer): JsValue[] {
  const size = KINDS[kind].size;
  if (bytes.length % size !== 0) throw new InputError(`${bytes.length} bytes is not a whole number of ${KINDS[kind].name} elements`);
  const count = bytes.length / size;
  const out: JsValue[] = new Array(count);
  const View = VIEWS[kind];
  if (View) {
    // a typed-array view over an aligned copy: one memcpy, then plain reads (48,000 floats in
    // well under a millisecond, where readFloatLE per element took several)
    const aligned = new Uint8Array(bytes.length);
    aligned.set(bytes);
    const view = new View(aligned.buffer);
    for (let i = 0; i < count; i++) out[i] = view[i];
    return out;
  }
  for (let i = 0; i < count; i++) out[i] = readElement(kind, bytes, i * size);
  return out;
}

/** Little-endian typed arrays for decodeArray (the host is little-endian, as Node's platforms are). */
const VIEWS: Partial<Record<ElementKind, new (b: ArrayBuffer) => ArrayLike<JsValue>>> = {
  i8: Int8Array, u8: Uint8Array, i16: Int16Array, u16: Uint16Array, i32: Int32Array, u32: Uint32Array,
  i64: BigInt64Array, u64: BigUint64Array, f32: Float32Array, f64: Float64Array,
};

/**
 * The CALL argument bytes: one slot per argument; `addresses[i]` is the device address allocated
 * for argument i when it is an array.
 */
export function buildSlots(args: Argument[], addresses: ReadonlyArray<number | undefined>): Buffer {
  return Buffer.concat(args.map((a, i) => {
    if (a.kind === 'scalar') return a.slot;
    const addr = addresses[i];
    if (addr === undefined) throw new InputError(`no device address for array argument '${a.param.name}'`);
    return encodeScalar('ptr', addr);
  }));
}

// ---------------------------------------------------------------- parsing user input

export interface ArgumentOptions {
  /** Folder that relative `@file` paths start from (default: the working directory). */
  baseDir?: string;
}

/** Parses one argument for `param`; throws ArgumentError with the reason. */
export function parseArgument(text: string, param: Param, opts: ArgumentOptions = {}): Argument {
  const t = param.type;
  const where = param.name;
  try {
    const s = text.trim();
    if (t.kind === 'ptr') return parsePointer(s, param, opts);
    if (t.kind === 'void' || t.kind === 'invalid') throw new InputError(`parameter type '${t.text}' cannot take a value`);
    const value = parseScalar(s, t.kind, t.text);
    return { kind: 'scalar', param, type: t.kind, value, slot: encodeScalar(t.kind, value) };
  } catch (e) {
    if (e instanceof ArgumentError) throw e;
    throw new ArgumentError(where, (e as Error).message);
  }
}

/** Parses all arguments of a call, checking their count first. */
export function parseArguments(texts: string[], sig: { name: string; params: Param[] }, opts: ArgumentOptions = {}): Argument[] {
  checkCount(texts, sig);
  return texts.map((text, i) => parseArgument(text, sig.params[i], opts));
}

export function checkCount(texts: readonly unknown[], sig: { name: string; params: Param[] }): void {
  if (texts.length !== sig.params.length) {
    const list = sig.params.map((p) => p.name).join(', ');
    throw new ArgumentError(sig.name, `expects ${sig.params.length} argument${sig.params.length === 1 ? '' : 's'}${
      list ? ` (${list})` : ''}, got ${texts.length}`);
  }
}

/** An argument's size before it is built: a list of 16 million values is counted, not made. */
export type ArgumentSize =
  | { kind: 'scalar' }
  | { kind: 'array'; param: Param; element: ElementKind; elements: number; bytes: number; alignment: number };

/**
 * Checks an argument as parseArgument does and says how large it is, without building a long
 * array: `[0]*16777216` parses one element, an .npy file is read up to its header.
 */
export function measureArgument(text: string, param: Param, opts: ArgumentOptions = {}): ArgumentSize {
  try {
    const s = text.trim();
    const pointer = param.type.kind === 'ptr' ? pointerInput(s, param) : null;
    if (!pointer || pointer.kind === 'address') {
      parseArgument(text, param, opts); // a scalar or an address: small, checked in full
      return { kind: 'scalar' };
    }
    const { element } = pointer;
    const elements =
      pointer.kind === 'string' ? parseStringLiteral(s).length
      : pointer.kind === 'file' ? arrayFileCount(resolve(opts.baseDir ?? process.cwd(), s.slice(1).trim()), element, pointer.elementText)
      : pointer.kind === 'generator' ? parseGenerator(s).count
      : listElements(s, element, pointer.elementText);
    checkDeclaredLength(param, elements);
    return { kind: 'array', param, element, elements, bytes: elements * KINDS[element].size, alignment: elementAlignment(element) };
  } catch (e) {
    if (e instanceof ArgumentError) throw e;
    throw new ArgumentError(param.name, (e as Error).message);
  }
}

/** measureArgument for every argument of a call, with their count checked first. */
export function measureArguments(texts: string[], sig: { name: string; params: Param[] }, opts: ArgumentOptions = {}): ArgumentSize[] {
  checkCount(texts, sig);
  return texts.map((text, i) => measureArgument(text, sig.params[i], opts));
}

/**
 * How many elements a pointer argument's text gives (a list, a repeated list, a string with its
 * NUL, an `@file`); undefined for a scalar, an address or null. Throws ArgumentError for text
 * that does not parse. (Used to fill in a length parameter that goes with the pointer.)
 */
export function argumentElementCount(text: string, param: Param, opts: ArgumentOptions = {}): number | undefined {
  const size = measureArgument(text, param, opts);
  return size.kind === 'array' ? size.elements : undefined;
}

/** Names that say "the length of the array before me": n, len, count, size, num_x, x_len, nTaps… */
const LENGTH_NAME = /^(n|len|length|count|cnt|size|num|nelems?|n_\w+|n[A-Z]\w*|num_?\w+|\w+_(n|len|length|count|cnt|size|num)|\w+(Len|Length|Count|Size))$/;

/**
 * The length to pre-fill for parameter `index`, when the signature pairs it clearly with the
 * array given just before (`float *x, int n`: an integer with a length's name right after a
 * pointer) and that argument, `previous[index - 1]`, gives elements (a list, a string, an @file).
 */
export function pairedLength(params: readonly Param[], index: number, previous: readonly string[], opts: ArgumentOptions = {}): string | undefined {
  const param = params[index];
  const pointer = params[index - 1];
  if (!param || !pointer || pointer.type.kind !== 'ptr' || previous[index - 1] === undefined) return undefined;
  if (param.type.kind === 'bool' || param.type.kind === 'ptr' || KINDS[param.type.kind as ScalarKind]?.float !== false) return undefined;
  if (!LENGTH_NAME.test(param.name)) return undefined;
  try {
    const s = previous[index - 1].trim();
    if (/^"/.test(s)) return undefined; // a string's NUL makes its element count no length a user means
    const count = argumentElementCount(s, pointer, opts);
    return count === undefined ? undefined : String(count);
  } catch {
    return undefined;
  }
}

/** What a pointer argument's text is, checked against the parameter's type (nothing is read or built). */
type PointerInput =
  | { kind: 'address' }
  | { kind: 'string' | 'list' | 'file' | 'generator'; element: ElementKind; elementText: string };

function pointerInput(s: string, param: Param): PointerInput {
  const t = param.type;
  const pointee = t.pointee!;
  if (/^(null|NULL|0)$/.test(s) || (s.startsWith('@') && !isFileReference(s))) return { kind: 'address' };
  if (pointee.kind === 'void' || pointee.kind === 'opaque') {
    const what = pointee.kind === 'void' ? 'void' : `'${pointee.text}'`;
    throw new InputError(`a pointer to ${what} has no element type to build a list from: pass a device address ` +
      `(@0x48001000) or null${pointee.kind === 'void' ? ', or declare the parameter with an element type (e.g. uint8_t *)' : ''}`);
  }
  const element = pointee.kind;
  const input = { element, elementText: pointee.text };
  if (s.startsWith('"')) {
    if (element !== 'u8' && element !== 'i8') throw new InputError(`a string can only be passed to a char/int8_t/uint8_t pointer, not '${t.text}'`);
    return { kind: 'string', ...input };
  }
  if (s.startsWith('[')) return { kind: 'list', ...input };
  if (s.startsWith('@')) return { kind: 'file', ...input };
  if (isGenerator(s)) return { kind: 'generator', ...input };
  throw new InputError(`expected a list like [1, 2, 3] for '${t.text}'${element === 'u8' || element === 'i8' ? ' or a string like "text"' : ''}` +
    `, a data file (@x.npy, @x.csv, @x.json, @x.bin), a generator (range(64), sine(4096, 440, 48000), noise(256, seed=1)), a device address (@0x48001000) or null; got '${s}'`);
}

function parsePointer(s: string, param: Param, opts: ArgumentOptions): Argument {
  const input = pointerInput(s, param);
  if (input.kind === 'address') {
    const { value } = s.startsWith('@') ? parseIntegerText(s.slice(1).trim()) : { value: 0n };
    if (value < 0n || value > 0xffffffffn) throw new InputError(`address ${s.slice(1)} is not a 32-bit device address`);
    return { kind: 'scalar', param, type: 'ptr', value: Number(value), slot: encodeScalar('ptr', Number(value)) };
  }
  const { element, elementText } = input;
  let values: JsValue[];
  let data: Buffer;
  if (input.kind === 'string') {
    data = parseStringLiteral(s);
    values = decodeArray(element, data);
  } else if (input.kind === 'file') {
    const content = readArrayFile(resolve(opts.baseDir ?? process.cwd(), s.slice(1).trim()), element, elementText);
    if ('data' in content) {
      data = content.data;
      values = decodeArray(element, data);
    } else {
      values = content.values;
      data = encodeArray(element, values);
    }
  } else if (input.kind === 'generator') {
    values = generatedValues(parseGenerator(s).values(), element, elementText);
    data = encodeArray(element, values);
  } else {
    const list = parseList(s, element, elementText);
    // a repeated list is encoded once and its bytes repeated
    const base = encodeArray(element, list.values);
    data = list.times === 1 ? base : Buffer.alloc(base.length * list.times).fill(base);
    values = list.times === 1 ? list.values : Array.from({ length: list.values.length * list.times }, (_, i) => list.values[i % list.values.length]);
  }
  checkDeclaredLength(param, values.length);
  return {
    kind: 'array', param, element, values, data, alignment: elementAlignment(element),
    copyBack: !param.type.pointee!.isConst, isString: input.kind === 'string',
  };
}

/** A generator's numbers as elements of `element`: float32-rounded, or rounded to integers and range-checked. */
function generatedValues(numbers: number[], element: ElementKind, elementText: string): JsValue[] {
  const info = KINDS[element];
  if (element === 'f64') return numbers;
  if (element === 'f32') return numbers.map(Math.fround);
  if (element === 'bool') return numbers.map((v) => v !== 0);
  return numbers.map((v, i) => {
    const n = BigInt(Math.round(v));
    if (n < info.min! || n > info.max!) {
      throw new InputError(`element ${i} (${v}) is out of range for ${elementText} (${info.min}..${info.max}): give an amplitude that fits`);
    }
    return element === 'i64' || element === 'u64' ? n : Number(n);
  });
}

export const elementAlignment = (element: ElementKind) => Math.max(4, KINDS[element].size);

export function checkDeclaredLength(param: Param, elements: number): void {
  const n = param.type.arrayLength;
  if (n !== undefined && elements < n) throw new InputError(`the parameter is declared with ${n} elements; got ${elements}`);
}

/** A string literal's UTF-8 bytes with the terminating NUL. */
function parseStringLiteral(s: string): Buffer {
  let str: unknown;
  try { str = JSON.parse(s); } catch { throw new InputError(`${s} is not a valid string literal (JSON string syntax, e.g. "hello\\n")`); }
  return Buffer.concat([Buffer.from(str as string, 'utf8'), Buffer.alloc(1)]);
}

/** `[1, 2, 3]`, optionally repeated: `[0]*16`. Elements are parsed as scalars of `element`; the repeat is not expanded. */
function parseList(s: string, element: ElementKind, elementText: string): { values: JsValue[]; times: number } {
  const m = /^\[([\s\S]*)\]\s*(?:\*\s*(\S+))?$/.exec(s);
  if (!m) throw new InputError(`'${s}' is not a list: write [1, 2, 3] (or [0]*16 for 16 zeros)`);
  const inner = m[1].trim();
  if (inner === '') throw new InputError('empty list: the function would get a pointer to nothing; give at least one element');
  if (inner.includes('[')) throw new InputError('nested lists are not supported: flatten a 2-D array into one list');
  const items = inner.split(',').map((x) => x.trim());
  const values = items.map((item, i) => {
    if (item === '') throw new InputError(`element ${i} is empty (a stray comma?)`);
    try {
      return parseScalar(item, element, elementText);
    } catch (e) {
      throw new InputError(`element ${i}: ${(e as Error).message}`);
    }
  });
  if (m[2] === undefined) return { values, times: 1 };
  const { value: times } = parseIntegerText(m[2]);
  if (times < 1n || times > 1n << 24n) throw new InputError(`repeat count ${m[2]} must be between 1 and ${1 << 24}`);
  return { values, times: Number(times) };
}

const listElements = (s: string, element: ElementKind, elementText: string) => {
  const { values, times } = parseList(s, element, elementText);
  return values.length * times;
};
