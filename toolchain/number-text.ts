// Number literals as C writes them, read exactly: integers of any base with C suffixes, char
// literals, decimal and hex floats correctly rounded to float or double; and the shortest text
// that reads back to the same value. Pure: the argument parser and the data-file readers share it.
import { KINDS, type ScalarKind } from './ctypes.js';
import { InputError } from './errors.js';

export type JsValue = number | bigint | boolean;

/** Parses a scalar of `kind`; `typeText` names the C type in messages (e.g. "uint8_t"). */
export function parseScalar(text: string, kind: ScalarKind, typeText: string = KINDS[kind].name): JsValue {
  if (text === '') throw new InputError(`missing value (expected ${describeExpected(kind, typeText)})`);
  if (kind === 'bool') {
    const s = text.toLowerCase();
    if (s === 'true' || s === '1') return true;
    if (s === 'false' || s === '0') return false;
    throw new InputError(`'${text}' is not a bool (use true or false, or 1 or 0)`);
  }
  if (kind === 'f32' || kind === 'f64') return parseFloatText(text, kind === 'f32' ? 32 : 64, typeText);
  const { value, bitPattern } = parseIntegerText(text);
  const { min, max, size } = KINDS[kind];
  let v = value;
  // A hex/binary/octal literal gives the bit pattern: 0xff for int8_t is -1, as in C.
  if (bitPattern && KINDS[kind].signed && v > max! && v <= (1n << BigInt(size * 8)) - 1n) v -= 1n << BigInt(size * 8);
  if (v < min! || v > max!) throw new InputError(`${text} is out of range for ${typeText} (${min}..${max})`);
  return kind === 'i64' || kind === 'u64' ? v : Number(v);
}

function describeExpected(kind: ScalarKind, typeText: string): string {
  if (kind === 'bool') return 'true or false';
  if (KINDS[kind].float) return `a number for ${typeText}`;
  return `an integer for ${typeText}`;
}

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
      if (code === undefined) throw new InputError(`unknown escape ${c} in ${s}`);
      return { value: BigInt(code), bitPattern: false };
    }
    const code = c.codePointAt(0)!;
    if (code > 127) throw new InputError(`${s} is not a single-byte character`);
    return { value: BigInt(code), bitPattern: false };
  }
  const m = /^([+-]?)(0[xX][0-9a-fA-F](?:_?[0-9a-fA-F])*|0[bB][01](?:_?[01])*|0[oO][0-7](?:_?[0-7])*|\d(?:_?\d)*)(?:[uU](?:ll|LL|l|L)?|(?:ll|LL|l|L)[uU]?)?$/.exec(s);
  if (!m) {
    if (/^[+-]?(\d+\.\d*|\.\d+|\d+[eE][+-]?\d+)[fF]?$/.test(s) || /^[+-]?(nan|inf|infinity)$/i.test(s)) {
      throw new InputError(`${s} is not an integer`);
    }
    throw new InputError(`'${s}' is not a number`);
  }
  const digits = m[2].replace(/_/g, '');
  if (/^0\d/.test(digits)) throw new InputError(`${s} has a leading zero, which C reads as octal: write ${digits.replace(/^0+/, '') || '0'} or 0o${digits.slice(1)}`);
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
    if (!whole && !frac) throw new InputError(`'${s}' is not a number`);
    const mantissa = BigInt(`0x${whole || '0'}${frac}`);
    if (mantissa >= 1n << 53n) throw new InputError(`${s} has more hex digits than a double holds`);
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
    throw new InputError(`'${s}' is not a number`);
  }
  if (!Number.isFinite(value)) {
    throw new InputError(`${s} is out of range for ${typeText} (largest finite magnitude ${bits === 32 ? '3.4028235e38' : '1.7976931348623157e308'})`);
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
  // through a double: JavaScript's own notation for those digits (110, not toPrecision's 1.1e+2)
  const text = (p: number) => String(Number(x.toPrecision(p)));
  // the fewest significant digits that read back to x: if p digits do, more do too, so a binary
  // search over 1..9 finds it (9 always identify a float32), a few conversions instead of up to 9
  let lo = 1;
  let hi = 9;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (decimalToFloat32(text(mid)) === x) hi = mid;
    else lo = mid + 1;
  }
  return text(lo);
}
