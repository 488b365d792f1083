// Host side of the typed call: turns the user's argument strings into 8-byte argument slots and
// device buffers, and the returned slot and copied-back buffers into JS values.
// Slot format (docs/protocol.md, CALL): little-endian; integers sign- or zero-extended to 64 bits,
// a float's bits in the low 4 bytes, a double in all 8, bool 0/1, a pointer as an unsigned 32-bit address.
import { KINDS, type CType, type ElementKind, type ScalarKind } from './ctypes.js';
import type { Param } from './signature.js';

export type JsValue = number | bigint | boolean;

export class ArgumentError extends Error {
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

const isInteger = (k: ScalarKind) => !KINDS[k].float && k !== 'bool';

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
      if (v < min! || v > max!) throw new RangeError(`${v} is out of range for ${KINDS[kind].name}`);
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
  if (type.kind === 'invalid') throw new Error(`cannot decode a return of type '${type.text}'`);
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

/** Little-endian bytes of an array of `kind`. */
export function encodeArray(kind: ElementKind, values: JsValue[]): Buffer {
  const size = KINDS[kind].size;
  const buf = Buffer.alloc(values.length * size);
  values.forEach((v, i) => encodeScalar(kind, v).copy(buf, i * size, 0, size));
  return buf;
}

/** Elements of `kind` in `bytes` (e.g. a buffer read back after the call). */
export function decodeArray(kind: ElementKind, bytes: Buffer): JsValue[] {
  const size = KINDS[kind].size;
  if (bytes.length % size !== 0) throw new Error(`${bytes.length} bytes is not a whole number of ${KINDS[kind].name} elements`);
  return Array.from({ length: bytes.length / size }, (_, i) => readElement(kind, bytes, i * size));
}

/**
 * The CALL argument bytes: one slot per argument; `addresses[i]` is the device address allocated
 * for argument i when it is an array.
 */
export function buildSlots(args: Argument[], addresses: ReadonlyArray<number | undefined>): Buffer {
  return Buffer.concat(args.map((a, i) => {
    if (a.kind === 'scalar') return a.slot;
    const addr = addresses[i];
    if (addr === undefined) throw new Error(`no device address for array argument '${a.param.name}'`);
    return encodeScalar('ptr', addr);
  }));
}

// ---------------------------------------------------------------- parsing user input

/** Parses one argument for `param`; throws ArgumentError with the reason. */
export function parseArgument(text: string, param: Param): Argument {
  const t = param.type;
  const where = param.name;
  try {
    const s = text.trim();
    if (t.kind === 'ptr') return parsePointer(s, param);
    if (t.kind === 'void' || t.kind === 'invalid') throw new Error(`parameter type '${t.text}' cannot take a value`);
    const value = parseScalar(s, t.kind, t.text);
    return { kind: 'scalar', param, type: t.kind, value, slot: encodeScalar(t.kind, value) };
  } catch (e) {
    if (e instanceof ArgumentError) throw e;
    throw new ArgumentError(where, (e as Error).message);
  }
}

/** Parses all arguments of a call, checking their count first. */
export function parseArguments(texts: string[], sig: { name: string; params: Param[] }): Argument[] {
  if (texts.length !== sig.params.length) {
    const list = sig.params.map((p) => p.name).join(', ');
    throw new ArgumentError(sig.name, `expects ${sig.params.length} argument${sig.params.length === 1 ? '' : 's'}${
      list ? ` (${list})` : ''}, got ${texts.length}`);
  }
  return texts.map((text, i) => parseArgument(text, sig.params[i]));
}

/** Parses a scalar of `kind`; `typeText` names the C type in messages (e.g. "uint8_t"). */
export function parseScalar(text: string, kind: ScalarKind, typeText: string = KINDS[kind].name): JsValue {
  if (text === '') throw new Error(`missing value (expected ${describeExpected(kind, typeText)})`);
  if (kind === 'bool') {
    const s = text.toLowerCase();
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0') return false;
    throw new Error(`'${text}' is not a bool (use true or false, or 1 or 0)`);
  }
  if (kind === 'f32' || kind === 'f64') return parseFloatText(text, kind === 'f32' ? 32 : 64, typeText);
  const { value, bitPattern } = parseIntegerText(text);
  const { min, max, size } = KINDS[kind];
  let v = value;
  // A hex/binary/octal literal gives the bit pattern: 0xff for int8_t is -1, as in C.
  if (bitPattern && KINDS[kind].signed && v > max! && v <= (1n << BigInt(size * 8)) - 1n) v -= 1n << BigInt(size * 8);
  if (v < min! || v > max!) throw new Error(`${text} is out of range for ${typeText} (${min}..${max})`);
  return kind === 'i64' || kind === 'u64' ? v : Number(v);
}

function describeExpected(kind: ScalarKind, typeText: string): string {
  if (kind === 'bool') return 'true or false';
  if (KINDS[kind].float) return `a number for ${typeText}`;
  return `an integer for ${typeText}`;
}

function parsePointer(s: string, param: Param): Argument {
  const t = param.type;
  const pointee = t.pointee!;
  const asAddress = (value: number): ScalarArgument => ({ kind: 'scalar', param, type: 'ptr', value, slot: encodeScalar('ptr', value) });
  if (/^(null|NULL|0)$/.test(s)) return asAddress(0);
  if (s.startsWith('@')) {
    const { value } = parseIntegerText(s.slice(1).trim());
    if (value < 0n || value > 0xffffffffn) throw new Error(`address ${s.slice(1)} is not a 32-bit device address`);
    return asAddress(Number(value));
  }
  if (pointee.kind === 'void' || pointee.kind === 'opaque') {
    const what = pointee.kind === 'void' ? 'void' : `'${pointee.text}'`;
    throw new Error(`a pointer to ${what} has no element type to build a list from: pass a device address ` +
      `(@0x48001000) or null${pointee.kind === 'void' ? ', or declare the parameter with an element type (e.g. uint8_t *)' : ''}`);
  }
  const element = pointee.kind;
  const copyBack = !pointee.isConst;
  const alignment = Math.max(4, KINDS[element].size);
  let values: JsValue[];
  let data: Buffer;
  let isString = false;
  if (s.startsWith('"')) {
    if (element !== 'u8' && element !== 'i8') throw new Error(`a string can only be passed to a char/int8_t/uint8_t pointer, not '${t.text}'`);
    let str: unknown;
    try { str = JSON.parse(s); } catch { throw new Error(`${s} is not a valid string literal (JSON string syntax, e.g. "hello\\n")`); }
    data = Buffer.concat([Buffer.from(str as string, 'utf8'), Buffer.alloc(1)]);
    values = decodeArray(element, data);
    isString = true;
  } else if (s.startsWith('[')) {
    values = parseList(s, element, pointee.text);
    data = encodeArray(element, values);
  } else {
    throw new Error(`expected a list like [1, 2, 3] for '${t.text}'${element === 'u8' || element === 'i8' ? ' or a string like "text"' : ''}` +
      `, a device address (@0x48001000) or null; got '${s}'`);
  }
  if (t.arrayLength !== undefined && values.length < t.arrayLength) {
    throw new Error(`the parameter is declared with ${t.arrayLength} elements; got ${values.length}`);
  }
  return { kind: 'array', param, element, values, data, alignment, copyBack, isString };
}

/** `[1, 2, 3]`, optionally repeated: `[0]*16`. Elements are parsed as scalars of `element`. */
function parseList(s: string, element: ElementKind, elementText: string): JsValue[] {
  const m = /^\[([\s\S]*)\]\s*(?:\*\s*(\S+))?$/.exec(s);
  if (!m) throw new Error(`'${s}' is not a list: write [1, 2, 3] (or [0]*16 for 16 zeros)`);
  const inner = m[1].trim();
  if (inner === '') throw new Error('empty list: the function would get a pointer to nothing; give at least one element');
  if (inner.includes('[')) throw new Error('nested lists are not supported: flatten a 2-D array into one list');
  const items = inner.split(',').map((x) => x.trim());
  const values = items.map((item, i) => {
    if (item === '') throw new Error(`element ${i} is empty (a stray comma?)`);
    try {
      return parseScalar(item, element, elementText);
    } catch (e) {
      throw new Error(`element ${i}: ${(e as Error).message}`);
    }
  });
  if (m[2] === undefined) return values;
  const { value: times } = parseIntegerText(m[2]);
  if (times < 1n || times > 1n << 24n) throw new Error(`repeat count ${m[2]} must be between 1 and ${1 << 24}`);
  return Array.from({ length: values.length * Number(times) }, (_, i) => values[i % values.length]);
}

// ---------------------------------------------------------------- display

export interface FormatOptions {
  /** Also show integers in hex. */
  hex?: boolean;
}

/** A value of kind `kind` as text that parseScalar reads back to the same value. */
export function formatValue(kind: ScalarKind, value: JsValue, options: FormatOptions = {}): string {
  if (kind === 'bool') return value ? 'true' : 'false';
  if (kind === 'f32' || kind === 'f64') return formatFloat(Number(value), kind === 'f32' ? 32 : 64);
  if (kind === 'ptr') return `0x${Number(value).toString(16).padStart(8, '0')}`;
  const dec = BigInt(value).toString();
  if (!options.hex || !isInteger(kind)) return dec;
  const bits = BigInt(KINDS[kind].size * 8);
  const pattern = BigInt.asUintN(Number(bits), BigInt(value));
  return `${dec} (0x${pattern.toString(16).padStart(Number(bits) / 4, '0')})`;
}

/** `[1, 2, 3]`, cut after `maxItems` with a count of the rest. */
export function formatArray(kind: ElementKind, values: JsValue[], maxItems = 64): string {
  const shown = values.slice(0, maxItems).map((v) => formatValue(kind, v));
  const rest = values.length - shown.length;
  return `[${shown.join(', ')}${rest > 0 ? `, … ${rest} more` : ''}]`;
}

// ---------------------------------------------------------------- number text

const CHAR_ESCAPES: Record<string, number> = { n: 10, t: 9, r: 13, '0': 0, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11 };

/**
 * An integer literal: decimal, 0x.., 0b.., 0o.., with C suffixes (u, l, ll) and `_` separators, or a
 * char literal ('A', '\n'). `bitPattern` is set for unsigned-looking hex/binary/octal literals.
 */
export function parseIntegerText(text: string): { value: bigint; bitPattern: boolean } {
  const s = text.trim();
  const ch = /^'(\\x[0-9a-fA-F]{1,2}|\\.|[^'\\])'$/.exec(s);
  if (ch) {
    const c = ch[1];
    if (c.startsWith('\\x')) return { value: BigInt(parseInt(c.slice(2), 16)), bitPattern: false };
    if (c.startsWith('\\')) {
      const code = CHAR_ESCAPES[c[1]];
      if (code === undefined) throw new Error(`unknown escape ${c} in ${s}`);
      return { value: BigInt(code), bitPattern: false };
    }
    const code = c.codePointAt(0)!;
    if (code > 127) throw new Error(`${s} is not a single-byte character`);
    return { value: BigInt(code), bitPattern: false };
  }
  const m = /^([+-]?)(0[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*|0[bB][01](?:_?[01])*|0[oO][0-7](?:_?[0-7])*|\d(?:_?\d)*)(?:[uU](?:ll|LL|l|L)?|(?:ll|LL|l|L)[uU]?)?$/.exec(s);
  if (!m) {
    if (/^[+-]?(\d+\.\d*|\.\d+|\d+[eE][+-]?\d+)[fF]?$/.test(s) || /^[+-]?(nan|inf|infinity)$/i.test(s)) {
      throw new Error(`${s} is not an integer`);
    }
    throw new Error(`'${s}' is not a number`);
  }
  const digits = m[2].replace(/_/g, '');
  if (/^0\d/.test(digits)) throw new Error(`${s} has a leading zero, which C reads as octal: write ${digits.replace(/^0+/, '') || '0'} or 0o${digits.slice(1)}`);
  const magnitude = BigInt(digits.replace(/^0X/, '0x').replace(/^0B/, '0b').replace(/^0O/, '0o'));
  return { value: m[1] === '-' ? -magnitude : magnitude, bitPattern: m[1] === '' && /^0[xXbBoO]/.test(digits) };
}

const FLOAT_BITS = new Uint32Array(1);
const FLOAT_VIEW = new Float32Array(FLOAT_BITS.buffer);

/** A decimal or hex floating literal (2.5, 1e-3, .5f, 0x1.8p3, inf, nan) as a float (32) or double (64). */
export function parseFloatText(text: string, bits: 32 | 64, typeText: string): number {
  const s = text.trim();
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(s);
  if (special) return /nan/i.test(special[2]) ? NaN : special[1] === '-' ? -Infinity : Infinity;
  let value: number;
  const hexFloat = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)[fFlL]?$/.exec(s);
  if (hexFloat) {
    const [, sign, whole, frac = '', exp] = hexFloat;
    if (!whole && !frac) throw new Error(`'${s}' is not a number`);
    const mantissa = BigInt(`0x${whole || '0'}${frac}`);
    if (mantissa >= 1n << 53n) throw new Error(`${s} has more hex digits than a double holds`);
    value = Number(mantissa) * 2 ** (Number(exp) - 4 * frac.length);
    if (sign === '-') value = -value;
    if (bits === 32) value = Math.fround(value); // exact double → one rounding
  } else if (/^[+-]?(\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFlL]?$/.test(s)) {
    const literal = s.replace(/[fFlL]$/, '');
    value = bits === 64 ? Number(literal) : decimalToFloat32(literal);
  } else if (/^[+-]?0[xXbBoO]/.test(s)) {
    // An integer in another base: its exact decimal form rounds once.
    const decimal = parseIntegerText(s).value.toString();
    value = bits === 64 ? Number(decimal) : decimalToFloat32(decimal);
  } else {
    throw new Error(`'${s}' is not a number`);
  }
  if (!Number.isFinite(value)) {
    throw new Error(`${s} is out of range for ${typeText} (largest finite magnitude ${bits === 32 ? '3.4028235e38' : '1.7976931348623157e308'})`);
  }
  return value;
}

/**
 * The float nearest to a decimal literal, correctly rounded. Math.fround(Number(s)) rounds twice
 * and is wrong when the double lands exactly halfway between two floats; then the exact decimal
 * decides.
 */
export function decimalToFloat32(literal: string): number {
  const d = Number(literal);
  const f = Math.fround(d);
  if (f === d || Number.isNaN(d)) return f;
  // The float on d's other side, and the midpoint between them (exact in a double).
  FLOAT_VIEW[0] = f;
  const awayFromZero = Math.abs(d) > Math.abs(f);
  FLOAT_BITS[0] = f === 0 ? (d < 0 ? 0x80000001 : 1) : FLOAT_BITS[0] + (awayFromZero ? 1 : -1);
  const other = FLOAT_VIEW[0];
  const mid = Number.isFinite(other) && Number.isFinite(f) ? (f + other) / 2 : Math.sign(d) * (2 ** 128 - 2 ** 103);
  if (d !== mid) return f;
  const cmp = compareDecimalToDouble(literal, mid);
  if (cmp === 0) return f; // a true tie: fround already rounded it to even
  const larger = Math.abs(f) > Math.abs(other) ? f : other;
  const smaller = larger === f ? other : f;
  return cmp * Math.sign(d) > 0 ? larger : smaller;
}

/** Sign of (decimal literal − x), exactly. */
function compareDecimalToDouble(literal: string, x: number): number {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(literal)!;
  const digits = BigInt(`${m[2] || '0'}${m[3] ?? ''}`) * (m[1] === '-' ? -1n : 1n);
  const exp10 = Number(m[4] ?? 0) - (m[3]?.length ?? 0);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const raw = view.getBigUint64(0);
  const biasedExp = Number((raw >> 52n) & 0x7ffn);
  let mant = raw & ((1n << 52n) - 1n);
  if (biasedExp) mant |= 1n << 52n;
  const exp2 = (biasedExp || 1) - 1075;
  const signedMant = raw >> 63n ? -mant : mant;
  // Compare digits·10^exp10 with signedMant·2^exp2 as integers.
  let lhs = digits * 10n ** BigInt(Math.max(exp10, 0)) * 2n ** BigInt(Math.max(-exp2, 0));
  let rhs = signedMant * 2n ** BigInt(Math.max(exp2, 0)) * 10n ** BigInt(Math.max(-exp10, 0));
  return lhs > rhs ? 1 : lhs < rhs ? -1 : 0;
}

/** Shortest text that reads back (parseFloatText) to exactly `x` as a float (32) or double (64). */
export function formatFloat(x: number, bits: 32 | 64): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (Object.is(x, -0)) return '-0';
  if (bits === 64) return String(x);
  for (let p = 1; p <= 9; p++) {
    const s = trimZeros(x.toPrecision(p));
    if (decimalToFloat32(s) === x) return s;
  }
  return String(x);
}

/** "1.2300e+5" → "1.23e+5", "2.50" → "2.5". */
function trimZeros(s: string): string {
  const [mant, exp] = s.split('e');
  const m = mant.includes('.') ? mant.replace(/0+$/, '').replace(/\.$/, '') : mant;
  return exp === undefined ? m : `${m}e${exp}`;
}
