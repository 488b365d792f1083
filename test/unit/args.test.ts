import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  parseArgument, parseArguments, parseScalar, encodeScalar, decodeScalar, decodeReturn, encodeArray, decodeArray,
  buildSlots, pairedLength, parseFloatText, ArgumentError, type JsValue,
} from '../../toolchain/args.js';
import { formatArray, formatValue } from '../../extension/session/format.js';
import { findFunction, type Param } from '../../toolchain/signature.js';
import { valueArgument } from '../../toolchain/value-args.js';
import { KINDS, TypeScope, type ElementKind, type ScalarKind } from '../../toolchain/ctypes.js';

const scope = new TypeScope();
const param = (typeText: string, name = 'x'): Param => ({ name, type: scope.paramType(typeText) });
const INT_KINDS = ['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64'] as const;
const ELEMENT_KINDS: ElementKind[] = [...INT_KINDS, 'bool', 'f32', 'f64'];

/** An arbitrary value of `kind`, edge values included by fast-check's bias. */
function arbitrary(kind: ScalarKind): fc.Arbitrary<JsValue> {
  if (kind === 'bool') return fc.boolean();
  if (kind === 'f32') return fc.float();
  if (kind === 'f64') return fc.double();
  const { min, max } = KINDS[kind];
  const big = fc.bigInt({ min: min!, max: max! });
  return kind === 'i64' || kind === 'u64' ? big : big.map(Number);
}
const same = (a: JsValue | undefined, b: JsValue | undefined) =>
  typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) ? Number.isNaN(b) : Object.is(a, b);

test('scalars: accepted spellings', () => {
  const cases: Array<[string, ScalarKind, JsValue]> = [
    ['3', 'i32', 3], ['-7', 'i32', -7], ['+7', 'i8', 7], ['0xff', 'u8', 255], ['0XFF', 'u16', 255], ['0b101', 'i32', 5],
    ['0o17', 'i32', 15], ['1_000_000', 'i32', 1000000], ['10u', 'u32', 10], ['42UL', 'u32', 42], ['7ll', 'i64', 7n],
    ["'A'", 'u8', 65], ["'\\n'", 'i8', 10], ["'\\x7f'", 'u8', 127], ['0', 'i32', 0],
    ['0xff', 'i8', -1], ['0x80', 'i8', -128], ['0xffffffff', 'i32', -1], ['-0x10', 'i32', -16],
    ['-9223372036854775808', 'i64', -(2n ** 63n)], ['18446744073709551615', 'u64', 2n ** 64n - 1n],
    ['2147483649', 'u32', 2 ** 31 + 1], ['true', 'bool', true], ['FALSE', 'bool', false], ['1', 'bool', true],
    ['2.5', 'f32', 2.5], ['-7', 'f64', -7], ['1e-3', 'f64', 0.001], ['.5f', 'f32', 0.5], ['2.', 'f64', 2],
    ['0x1.8p3', 'f64', 12], ['0x10', 'f32', 16], ['inf', 'f32', Infinity], ['-Infinity', 'f64', -Infinity],
    ['-0', 'f32', -0], ['-0.0', 'f64', -0], ['1e-45', 'f32', 1.401298464324817e-45], ['3.4028235e38', 'f32', 3.4028234663852886e38],
    ['0.1', 'f32', Math.fround(0.1)],
  ];
  for (const [text, kind, expected] of cases) {
    assert.ok(Object.is(parseScalar(text, kind), expected), `${text} as ${kind}: got ${String(parseScalar(text, kind))}`);
  }
  assert.ok(Number.isNaN(parseScalar('nan', 'f32') as number));
  assert.ok(Number.isNaN(parseScalar('NaN', 'f64') as number));
});

test('scalars: precise validation errors', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['128', 'int8_t', /128 is out of range for int8_t \(-128\.\.127\)/],
    ['-1', 'uint32_t', /-1 is out of range for uint32_t \(0\.\.4294967295\)/],
    ['0x1ff', 'int8_t', /out of range for int8_t/],
    ['4294967296', 'uint32_t', /out of range/],
    ['9223372036854775808', 'int64_t', /out of range for int64_t/],
    ['2.5', 'int', /2\.5 is not an integer/],
    ['1e3', 'int', /1e3 is not an integer/],
    ['nan', 'int', /nan is not an integer/],
    ['abc', 'int', /'abc' is not a number/],
    ['12abc', 'uint16_t', /'12abc' is not a number/],
    ['017', 'int', /leading zero, which C reads as octal: write 17 or 0o17/],
    ['', 'int', /missing value \(expected an integer for int\)/],
    ['2', 'bool', /'2' is not a bool \(use true or false, or 1 or 0\)/],
    ['yes', 'bool', /is not a bool/],
    ['1e39', 'float', /1e39 is out of range for float \(largest finite magnitude 3\.4028235e38\)/],
    ['1e309', 'double', /out of range for double/],
    ['1.5.2', 'float', /'1\.5\.2' is not a number/],
    ['0x', 'float', /is not a number/],
    ["'é'", 'uint8_t', /not a single-byte character/],
  ];
  for (const [text, type, pattern] of cases) {
    assert.throws(() => parseArgument(text, param(type, 'v')), (e: unknown) => {
      assert.ok(e instanceof ArgumentError);
      assert.equal(e.param, 'v');
      assert.match(e.message, /^argument 'v': /);
      assert.equal(`argument 'v': ${e.reason}`, e.message);
      assert.match(e.message, pattern, `${text} as ${type}`);
      return true;
    });
  }
});

test('pointer parameters: lists, strings, repeats, addresses and null', () => {
  const floats = parseArgument('[1, -2.5, 3e-3]', param('float *'));
  assert.equal(floats.kind, 'array');
  if (floats.kind !== 'array') return;
  assert.deepEqual(floats.values, [1, -2.5, Math.fround(3e-3)]);
  assert.equal(floats.data.length, 12);
  assert.equal(floats.element, 'f32');
  assert.equal(floats.copyBack, true);
  assert.equal(floats.alignment, 4);

  const c = parseArgument('[1, 2]', param('const double *'));
  assert.ok(c.kind === 'array' && !c.copyBack && c.alignment === 8 && c.data.equals(Buffer.from([0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0x40])));

  const s = parseArgument('"hé\\n"', param('const char *'));
  assert.ok(s.kind === 'array' && s.isString);
  assert.deepEqual(s.kind === 'array' && [...s.data], [0x68, 0xc3, 0xa9, 0x0a, 0]);

  const zeros = parseArgument('[0]*16', param('int32_t *'));
  assert.ok(zeros.kind === 'array' && zeros.values.length === 16 && zeros.data.length === 64);
  const pattern = parseArgument('[1, 2]*3', param('uint8_t *'));
  assert.deepEqual(pattern.kind === 'array' && pattern.values, [1, 2, 1, 2, 1, 2]);

  const i64 = parseArgument('[-9223372036854775808, 0xffffffffffffffff]', param('int64_t *'));
  assert.deepEqual(i64.kind === 'array' && i64.values, [-(2n ** 63n), -1n], 'list elements keep 64-bit precision');

  for (const [text, addr] of [['null', 0], ['NULL', 0], ['0', 0], ['@0x48001000', 0x48001000], ['@ 2147483648', 2 ** 31]] as const) {
    const a = parseArgument(text, param('float *'));
    assert.ok(a.kind === 'scalar' && a.type === 'ptr' && a.value === addr && a.slot.readBigUInt64LE() === BigInt(addr), text);
  }
  const v = parseArgument('@0x80000000', param('void *'));
  assert.ok(v.kind === 'scalar' && v.value === 0x80000000);
  const declared = parseArgument('[1, 2, 3, 4]', param('int [4]'));
  assert.ok(declared.kind === 'array' && declared.values.length === 4);
});

test('pointer parameters: precise validation errors', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['[]', 'float *', /empty list: the function would get a pointer to nothing/],
    ['[1,,2]', 'float *', /element 1 is empty/],
    ['[1, 2,]', 'float *', /element 2 is empty/],
    ['[1, 300]', 'uint8_t *', /element 1: 300 is out of range for uint8_t \(0\.\.255\)/],
    ['[1, 2.5]', 'int *', /element 1: 2\.5 is not an integer/],
    ['[1, "a"]', 'float *', /element 1: '"a"' is not a number/],
    ['[[1, 2], [3, 4]]', 'float *', /nested lists are not supported/],
    ['[1, 2', 'float *', /is not a list/],
    ['[0]*0', 'float *', /repeat count 0 must be between 1/],
    ['5', 'float *', /expected a list like \[1, 2, 3\] for 'float \*', a data file \(@x.npy, @x.csv, @x.json, @x.bin\), a generator \(range\(64\), sine\(4096, 440, 48000\), noise\(256, seed=1\)\), a device address \(@0x48001000\) or null; got '5'/],
    ['"text"', 'float *', /a string can only be passed to a char\/int8_t\/uint8_t pointer/],
    ['"unterminated', 'const char *', /not a valid string literal/],
    ['[1, 2]', 'void *', /a pointer to void has no element type.*declare the parameter with an element type/],
    ['[1]', 'char **', /a pointer to 'char \*' has no element type/],
    ['@0x100000000', 'float *', /is not a 32-bit device address/],
    ['@-4', 'float *', /is not a 32-bit device address/],
    ['[1, 2]', 'float [4]', /declared with 4 elements; got 2/],
  ];
  for (const [text, type, pattern] of cases) {
    assert.throws(() => parseArgument(text, param(type, 'p')), (e: unknown) => e instanceof ArgumentError && pattern.test(e.message),
      `${text} as ${type}`);
  }
});

test('parseArguments checks the count and names the parameters', async () => {
  const sig = await findFunction('void scale(float *x, int n, float k) {}', 'scale');
  assert.throws(() => parseArguments(['[1]', '1'], sig), /argument 'scale': expects 3 arguments \(x, n, k\), got 2/);
  const noArgs = await findFunction('int f(void) { return 1; }', 'f');
  assert.throws(() => parseArguments(['1'], noArgs), /expects 0 arguments, got 1/);
  const args = parseArguments([' [1, 2] ', '2', '0.5'], sig);
  assert.deepEqual(args.map((a) => a.kind), ['array', 'scalar', 'scalar']);
  assert.throws(() => parseArguments(['[1]', 'x', '1'], sig), /argument 'n': 'x' is not a number/);
});

test('buildSlots puts each array at its device address, each scalar in its slot', async () => {
  const sig = await findFunction('void f(const int16_t *a, int8_t n, double d) {}\ntypedef short int16_t; typedef signed char int8_t;', 'f');
  const args = parseArguments(['[1, 2]', '-2', '0.5'], sig);
  const slots = buildSlots(args, [0x48001000, undefined, undefined]);
  assert.equal(slots.length, 24);
  assert.equal(slots.toString('hex'), '0010004800000000' + 'feffffffffffffff' + '000000000000e03f');
  assert.throws(() => buildSlots(args, []), /no device address for array argument 'a'/);
});

test('property: every scalar kind round-trips through its slot, extended correctly to 64 bits', () => {
  for (const kind of ELEMENT_KINDS) {
    fc.assert(fc.property(arbitrary(kind), (v) => {
      const slot = encodeScalar(kind, v);
      assert.equal(slot.length, 8);
      assert.ok(same(decodeScalar(kind, slot), v), `${kind} ${String(v)}`);
      if (kind === 'f32') assert.equal(slot.readUInt32LE(4), 0, 'float uses only the low 4 bytes');
      if (kind === 'bool') assert.equal(slot.readBigUInt64LE(), v ? 1n : 0n);
      if (INT_KINDS.includes(kind as typeof INT_KINDS[number])) {
        const full = KINDS[kind].signed ? slot.readBigInt64LE() : slot.readBigUInt64LE();
        assert.equal(full, BigInt(v as number | bigint), `${kind} ${String(v)} at full width`);
      }
    }), { numRuns: 500 });
  }
  // Named edge values.
  assert.equal(encodeScalar('i64', -(2n ** 63n)).toString('hex'), '0000000000000080');
  assert.equal(encodeScalar('u32', 2 ** 31 + 1).toString('hex'), '0100008000000000');
  assert.equal(encodeScalar('i32', -(2 ** 31)).toString('hex'), '00000080ffffffff');
  assert.equal(encodeScalar('f32', -0).toString('hex'), '0000008000000000');
  assert.equal(encodeScalar('f64', -0).toString('hex'), '0000000000000080');
  assert.equal(encodeScalar('f32', 1.401298464324817e-45).toString('hex'), '0100000000000000', 'smallest float denormal');
  assert.equal(encodeScalar('f64', 5e-324).toString('hex'), '0100000000000000', 'smallest double denormal');
  assert.equal(encodeScalar('ptr', 0xffffffff).toString('hex'), 'ffffffff00000000');
  assert.throws(() => encodeScalar('u8', 256), /out of range/);
});

test('property: every non-NaN float and double bit pattern survives decode then encode', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (bits) => {
    const slot = Buffer.alloc(8);
    slot.writeUInt32LE(bits);
    const v = decodeScalar('f32', slot) as number;
    if (Number.isNaN(v)) return; // JS numbers do not carry float NaN payloads; the wrapper test checks them bit-exact
    assert.ok(encodeScalar('f32', v).equals(slot), `0x${bits.toString(16)}`);
  }), { numRuns: 2000 });
  fc.assert(fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (bits) => {
    const slot = Buffer.alloc(8);
    slot.writeBigUInt64LE(bits);
    const v = decodeScalar('f64', slot) as number;
    if (Number.isNaN(v)) return;
    assert.ok(encodeScalar('f64', v).equals(slot));
  }), { numRuns: 2000 });
});

test('property: the display text of every value reads back to the same value', () => {
  for (const kind of [...ELEMENT_KINDS, 'ptr'] as ScalarKind[]) {
    const arb = kind === 'ptr' ? fc.integer({ min: 0, max: 2 ** 32 - 1 }) : arbitrary(kind);
    fc.assert(fc.property(arb, (v) => {
      const text = formatValue(kind, v);
      const back = kind === 'ptr' ? Number(BigInt(text)) : parseScalar(text, kind);
      assert.ok(same(back, v), `${kind}: ${String(v)} → '${text}' → ${String(back)}`);
    }), { numRuns: 500 });
  }
  assert.equal(formatValue('f32', Math.fround(0.1)), '0.1', 'floats show their shortest text');
  assert.equal(formatValue('f32', Math.fround(1 / 3)), '0.33333334');
  assert.equal(formatValue('f64', 0.1), '0.1');
  assert.equal(formatValue('f32', -0), '-0');
  assert.equal(formatValue('f64', NaN), 'nan');
  assert.equal(formatValue('f32', -Infinity), '-inf');
  assert.equal(formatValue('i8', -1, { hex: true }), '-1 (0xff)');
  assert.equal(formatValue('u64', 2n ** 64n - 1n, { hex: true }), '18446744073709551615 (0xffffffffffffffff)');
  assert.equal(formatValue('ptr', 0x48001000), '0x48001000');
  assert.equal(formatValue('bool', true), 'true');
});

test('property: arrays of every element kind round-trip through their bytes', () => {
  for (const kind of ELEMENT_KINDS) {
    fc.assert(fc.property(fc.array(arbitrary(kind), { minLength: 1, maxLength: 40 }), (values) => {
      const bytes = encodeArray(kind, values);
      assert.equal(bytes.length, values.length * KINDS[kind].size);
      const back = decodeArray(kind, bytes);
      values.forEach((v, i) => assert.ok(same(back[i], v), `${kind}[${i}] ${String(v)}`));
    }), { numRuns: 100 });
  }
  assert.throws(() => decodeArray('i32', Buffer.alloc(6)), /6 bytes is not a whole number of int32 elements/);
  assert.equal(formatArray('i32', [1, 2, 3, 4], 2), '[1, 2, … 2 more]');
  assert.equal(formatArray('f32', [0.5, -0]), '[0.5, -0]');
});

test('decodeReturn: by the function\'s return type', () => {
  const ret = Buffer.from('feffffffffffffff', 'hex');
  assert.equal(decodeReturn(scope.returnType('int8_t'), ret), -2);
  assert.equal(decodeReturn(scope.returnType('uint8_t'), ret), 254);
  assert.equal(decodeReturn(scope.returnType('int32_t'), ret), -2);
  assert.equal(decodeReturn(scope.returnType('uint32_t'), ret), 4294967294);
  assert.equal(decodeReturn(scope.returnType('int64_t'), ret), -2n);
  assert.equal(decodeReturn(scope.returnType('uint64_t'), ret), 2n ** 64n - 2n);
  assert.equal(decodeReturn(scope.returnType('bool'), Buffer.from('0100000000000000', 'hex')), true);
  assert.equal(decodeReturn(scope.returnType('char *'), Buffer.from('0010004800000000', 'hex')), 0x48001000);
  assert.equal(decodeReturn(scope.returnType('void'), ret), undefined);
});

// ---------------------------------------------------------------- decimal → float, against the C library

const hostGcc = (() => { try { execFileSync('gcc', ['--version'], { stdio: 'ignore' }); return 'gcc'; } catch { return undefined; } })();
const work = mkdtempSync(join(tmpdir(), 'p4jit-args-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The exact decimal expansion of a double (every double is a finite decimal). */
function exactDecimal(x: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const raw = view.getBigUint64(0);
  const e = Number((raw >> 52n) & 0x7ffn);
  const m = (raw & ((1n << 52n) - 1n)) | (e ? 1n << 52n : 0n);
  const exp2 = (e || 1) - 1075;
  if (exp2 >= 0) return (m << BigInt(exp2)).toString();
  const digits = (m * 5n ** BigInt(-exp2)).toString().padStart(-exp2 + 1, '0');
  return `${digits.slice(0, digits.length + exp2)}.${digits.slice(digits.length + exp2)}`;
}

test('decimal literals round exactly like the C library (strtof/strtod), including halfway cases',
  { skip: !hostGcc && 'host gcc not found: the strtof comparison needs it' }, () => {
    writeFileSync(join(work, 'conv.c'), `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
  static char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\\n")] = 0;
    float f = strtof(line, 0); double d = strtod(line, 0);
    unsigned fb; unsigned long long db; memcpy(&fb, &f, 4); memcpy(&db, &d, 8);
    printf("%08x %016llx\\n", fb, db);
  }
  return 0;
}
`);
    execFileSync(hostGcc!, ['-O1', join(work, 'conv.c'), '-o', join(work, 'conv')]);
    // Random decimals, plus exact float midpoints nudged just above and below: the double-rounding traps.
    const randomDecimals = fc.sample(fc.tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.integer({ min: -60, max: 40 }))
      .map(([neg, digits, exp]) => `${neg ? '-' : ''}${digits}e${exp}`), 500);
    const midpoints = fc.sample(fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-3e38), max: Math.fround(3e38) }), 300).flatMap((f) => {
      const next = new Float32Array([f]);
      const bits = new Uint32Array(next.buffer);
      bits[0] += 1;
      if (!Number.isFinite(next[0])) return [];
      const mid = exactDecimal((f + next[0]) / 2);
      const withDot = mid.includes('.') ? mid : `${mid}.`;
      return [mid, `${withDot}0000000000000000000001`, lower(mid)];
    });
    const inputs = [...randomDecimals, ...midpoints, '1.00000005960464477550', '3.4028235677973366e38', '1e-46', '7.0064923216240854e-46'];
    const out = execFileSync(join(work, 'conv'), { input: inputs.join('\n') + '\n', encoding: 'utf8' }).trim().split('\n');
    inputs.forEach((text, i) => {
      const [fbits, dbits] = out[i].split(' ');
      let f: number;
      try { f = parseFloatText(text, 32, 'float'); } catch { assert.equal(fbits.slice(1), 'f800000', `${text}: rejected but strtof gave ${fbits}`); return; }
      assert.equal(encodeScalar('f32', f).readUInt32LE().toString(16).padStart(8, '0'), fbits, `float ${text}`);
      const d = parseFloatText(text, 64, 'double');
      assert.equal(encodeScalar('f64', d).readBigUInt64LE().toString(16).padStart(16, '0'), dbits, `double ${text}`);
    });
  });

/** A decimal just below a positive (or just above a negative) exact decimal: last digit lowered with borrow. */
function lower(exact: string): string {
  const neg = exact.startsWith('-');
  const body = neg ? exact.slice(1) : exact;
  const [int, frac = ''] = body.split('.');
  const digits = BigInt(int + frac + '0') - 1n;
  const scale = frac.length + 1;
  const s = digits.toString().padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, s.length - scale)}.${s.slice(s.length - scale)}`;
}

test('pairedLength: a length right after an array is pre-filled with its element count, only when the names say so', async () => {
  const sig = await findFunction(
    'int f(const float *x, int n, const int16_t *h, size_t h_len, float *y, int gain, char *s, int len, double *d, float nd) { return 0; }', 'f');
  const given = ['[1, 2, 3]', '', '[0]*64', '', '[1,2]', '', '"text"', '', '[1]', ''];
  const at = (i: number, previous = given) => pairedLength(sig.params, i, previous);
  assert.equal(at(1), '3', 'float *x, int n');
  assert.equal(at(3), '64', 'a repeated list: int16_t *h, size_t h_len');
  assert.equal(at(5), undefined, 'gain is not a length');
  assert.equal(at(7), undefined, 'a string is not a list of elements');
  assert.equal(at(9), undefined, 'a float is not a length');
  assert.equal(at(0), undefined);
  assert.equal(at(1, ['[1, 2', '']), undefined, 'an argument that does not parse gives nothing');
  assert.equal(at(1, ['@0x82000000', '']), undefined, 'a raw address has no length');
});

test('property: a JavaScript number is taken exactly as its text would be (the fast path for integers agrees)', () => {
  const kinds = ['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'bool', 'f32'] as const;
  const numbers = fc.oneof(fc.integer({ min: -(2 ** 33), max: 2 ** 33 }), fc.double(), fc.constantFrom(-0, 0.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, NaN));
  for (const kind of kinds) {
    const p = param(KINDS[kind].name);
    fc.assert(fc.property(numbers, (v) => {
      const outcome = (f: () => ReturnType<typeof valueArgument>) => {
        try {
          const a = f();
          return a.kind === 'scalar' ? { value: a.value, slot: a.slot.toString('hex') } : { array: true };
        } catch (e) {
          return { error: (e as Error).message };
        }
      };
      const asValue = outcome(() => valueArgument(v, p));
      const asText = outcome(() => parseArgument(Number.isNaN(v) ? 'nan' : String(v), p));
      assert.deepEqual(asValue, asText, `${kind} ${v}`);
    }), { numRuns: 300 });
  }
  // integers in hex read the same from a number as from a bigint
  for (const kind of ['i8', 'u8', 'i16', 'u16', 'i32', 'u32'] as const) {
    for (const v of [KINDS[kind].min!, KINDS[kind].max!, 0n, -1n, 1n].filter((x) => x >= KINDS[kind].min! && x <= KINDS[kind].max!)) {
      assert.equal(formatValue(kind, Number(v), { hex: true }), formatValue(kind, v, { hex: true }), `${kind} ${v}`);
    }
  }
});
