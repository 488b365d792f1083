import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findFunction, functionAt, parseFunctions, formatSignature, SignatureError, MAX_ARG_SLOTS,
  type FunctionSignature, type SignatureProblemCode,
} from '../../toolchain/signature.js';
import { TypeScope, STANDARD_TYPEDEFS, KINDS, normalizeTypeText, type CType } from '../../toolchain/ctypes.js';

/** "kind" or "ptr<const f32>[16]" — a compact picture of a CType for assertions. */
function shape(t: CType): string {
  if (t.kind !== 'ptr') return t.kind;
  const p = t.pointee!;
  return `ptr<${p.isConst ? 'const ' : ''}${p.kind}>${t.arrayLength !== undefined ? `[${t.arrayLength}]` : ''}`;
}
const shapes = (sig: FunctionSignature) => [shape(sig.returnType), ...sig.params.map((p) => shape(p.type))];

async function rejects(source: string, name: string, code: SignatureProblemCode, pattern: RegExp, file = 'f.c') {
  await assert.rejects(findFunction(source, name, file), (e: unknown) => {
    assert.ok(e instanceof SignatureError, `expected SignatureError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
}

test('simple definition: name, types, lines, flags', async () => {
  const src = '#include <stdint.h>\n\nint32_t add(int32_t a, int32_t b)\n{\n    return a + b;\n}\n';
  const sig = await findFunction(src, 'add', 'add.c');
  assert.equal(sig.name, 'add');
  assert.deepEqual(shapes(sig), ['i32', 'i32', 'i32']);
  assert.deepEqual(sig.params.map((p) => p.name), ['a', 'b']);
  assert.equal(sig.startLine, 3);
  assert.equal(sig.endLine, 6);
  assert.equal(sig.isStatic, false);
  assert.equal(sig.isVariadic, false);
  assert.equal(sig.isExternC, true);
  assert.equal(sig.language, 'c');
  assert.equal(sig.file, 'add.c');
  assert.equal(sig.problem, undefined);
  assert.equal(formatSignature(sig), 'int32_t add(int32_t a, int32_t b)');
});

test('multi-line signature with comments between every token', async () => {
  const src = `/* é — unicode in a comment must not move lines */
static /* s */ inline
const /* ret */ float * /* star */
scale /* name */ (
    float *x,          // output, in place
    const float * /* in */ k,
    unsigned /* gap */ long /* gap */ long n /* count */
) { return x; }`;
  const sig = await findFunction(src, 'scale');
  assert.deepEqual(shapes(sig), ['ptr<const f32>', 'ptr<f32>', 'ptr<const f32>', 'u64']);
  assert.equal(sig.returnType.text, 'const float *');
  assert.equal(sig.params[2].type.text, 'unsigned long long');
  assert.equal(sig.startLine, 2);
  assert.equal(sig.endLine, 8);
  assert.equal(sig.isStatic, true);
  assert.equal(sig.isInline, true);
});

test('integer, float and bool spellings map to exact kinds', async () => {
  const src = `#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
void all(int8_t a, uint8_t b, int16_t c, uint16_t d, int32_t e, uint32_t f, int64_t g, uint64_t h,
  bool i, _Bool j, float k, double l, size_t m, unsigned n, signed o, long p, unsigned long q,
  long long r, unsigned long long s, short t, unsigned short u, signed char v, unsigned char w, char x,
  long int y, short int z, long long int aa, unsigned long long int bb, intptr_t cc, uintptr_t dd,
  ptrdiff_t ee, int_fast8_t ff, uint_least16_t gg, intmax_t hh, const volatile int ii) {}`;
  const sig = await findFunction(src, 'all', undefined, { maxSlots: 64 });
  assert.deepEqual(shapes(sig).slice(1), ['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'bool', 'bool', 'f32', 'f64',
    'u32', 'u32', 'i32', 'i32', 'u32', 'i64', 'u64', 'i16', 'u16', 'i8', 'u8', 'u8', 'i32', 'i16', 'i64', 'u64', 'i32', 'u32',
    'i32', 'i32', 'u16', 'i64', 'i32']);
  assert.equal(sig.params[0].type.cType, '__INT8_TYPE__', 'standard typedefs use GCC predefined type macros');
  assert.equal(sig.params[8].type.cType, '_Bool');
  assert.equal(sig.params[23].type.cType, 'char', 'plain char stays char (it is unsigned on RISC-V)');
});

test('pointers: const target vs mutable target, void pointers, pointer-to-pointer is opaque', async () => {
  const src = `void p(const float *a, float *b, float const *c, float *const d, const void *e, void *f,
    char **g, const char *h, volatile uint8_t *i) {}
typedef unsigned char uint8_t;`;
  const sig = await findFunction(src, 'p');
  assert.deepEqual(shapes(sig).slice(1),
    ['ptr<const f32>', 'ptr<f32>', 'ptr<const f32>', 'ptr<f32>', 'ptr<const void>', 'ptr<void>', 'ptr<opaque>', 'ptr<const u8>', 'ptr<u8>']);
  assert.equal(sig.params[0].type.cType, 'const float *');
  assert.equal(sig.params[6].type.cType, 'void *');
});

test('array parameters decay to pointers and keep a declared length', async () => {
  const src = `#define N 8
void arr(float x[], float y[16], const int z[static 4], double w[N], float m[4][4]) {}`;
  const sig = await findFunction(src, 'arr');
  assert.deepEqual(shapes(sig).slice(1), ['ptr<f32>', 'ptr<f32>[16]', 'ptr<const i32>[4]', 'ptr<f64>[8]', 'ptr<opaque>[4]']);
  assert.equal(formatSignature(sig), 'void arr(float x[], float y[16], const int z[static 4], double w[8], float m[4][4])');
});

test('attribute macros before or after the type: IRAM_ATTR, file-defined and unknown header macros', async () => {
  const src = `#define MY_ATTR __attribute__((noinline))
#define NOTHING
#define IN_SECTION(s) __attribute__((section(s)))
IRAM_ATTR float a(float x) { return x; }
float IRAM_ATTR b(float x) { return x; }
void IRAM_ATTR c(void) { }
MY_ATTR NOTHING int d(int x) { return x; }
IN_SECTION(".iram1") int e(int x) { return x; }
SOME_HEADER_API int f(int x) { return x; }
static FORCE_INLINE_ATTR int g(int x) { return x; }
__attribute__((always_inline)) inline int h(int x) { return x; }
int i(int x) { return x; }`;
  const all = await parseFunctions(src);
  assert.deepEqual(all.map((s) => s.name), ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
  for (const s of all) assert.equal(s.problem, undefined, `${s.name}: ${s.problem?.message}`);
  assert.deepEqual(shapes(all[2]), ['void']);
  assert.equal(all[6].isStatic, true);
  assert.equal(formatSignature(all[1]), 'float b(float x)');
});

test('typedefs in the same file: scalar, chained, pointer, const and multi-declarator', async () => {
  const src = `typedef float real;
typedef real *realp;
typedef const real creal;
typedef unsigned char byte, *bytep;
typedef enum { RED, GREEN } color_t;
#define SCALAR double
real f(real a, realp b, const creal *c, byte d, bytep e, color_t g, SCALAR h) { return a; }`;
  const sig = await findFunction(src, 'f');
  assert.deepEqual(shapes(sig), ['f32', 'f32', 'ptr<f32>', 'ptr<const f32>', 'u8', 'ptr<u8>', 'i32', 'f64']);
  assert.equal(sig.params[0].type.text, 'real', 'the type is shown as written');
  assert.equal(sig.params[0].type.cType, 'float', 'the prototype uses the resolved type');
});

test('return types: void, pointer, function pointer; (void) and () mean no parameters', async () => {
  const src = `void a(void) {}
int b() { return 1; }
const char *c(const char *s) { return s; }
int (*d(int k))(int) { return 0; }`;
  const [a, b, c, d] = await parseFunctions(src);
  assert.deepEqual([a.params.length, b.params.length], [0, 0]);
  assert.equal(a.returnType.kind, 'void');
  assert.deepEqual(shapes(c), ['ptr<const u8>', 'ptr<const u8>']);
  assert.deepEqual(shapes(d), ['ptr<opaque>', 'i32']);
  assert.equal(formatSignature(d), 'int (*d(int k))(int)');
});

test('an unnamed parameter gets a positional name', async () => {
  const sig = await findFunction('int f(int, float y) { return 0; }', 'f');
  assert.deepEqual(sig.params.map((p) => p.name), ['arg0', 'y']);
});

test('static functions are supported (the wrapper includes the file); static in C++ is refused', async () => {
  const src = 'static int helper(int x) { return 2 * x; }\n';
  const sig = await findFunction(src, 'helper', 'h.c');
  assert.equal(sig.isStatic, true);
  assert.equal(sig.problem, undefined);
  await rejects('extern "C" { static int helper(int x) { return x; } }', 'helper', 'static-cxx', /static in a C\+\+ file/, 'h.cpp');
});

test('C++: only extern "C" functions are callable, in all three spellings', async () => {
  const src = `#include <cstdint>
#ifdef __cplusplus
extern "C" {
#endif
int32_t guarded(int32_t x) { return x; }
#ifdef __cplusplus
}
#endif
extern "C" int single(int x) { return x; }
extern "C" int declared_first(int x);
int declared_first(int x) { return x; }
extern "C" { int block(int x) { return x; } }
int plain_cpp(int x) { return x; }`;
  const all = await parseFunctions(src, 'k.cpp');
  const byName = new Map(all.map((s) => [s.name, s]));
  for (const n of ['guarded', 'single', 'declared_first', 'block']) {
    assert.equal(byName.get(n)?.problem, undefined, `${n}: ${byName.get(n)?.problem?.message}`);
    assert.equal(byName.get(n)?.isExternC, true);
    assert.equal(byName.get(n)?.language, 'c++');
  }
  await rejects(src, 'plain_cpp', 'not-extern-c', /declare it extern "C"/, 'k.cpp');
  // The same guard in a C file parses too (the C++ branch is dropped).
  assert.equal((await findFunction(src.replace('#include <cstdint>', '#include <stdint.h>').replace(/^extern "C" .*$/gm, ''), 'guarded', 'k.c')).isExternC, true);
});

test('#if 0 blocks are skipped; other conditionals are parsed as written', async () => {
  const src = `#if 0
int hidden(int x) { return x; }
#endif
#ifdef USE_FAST
int visible(int x) { return x; }
#endif`;
  const all = await parseFunctions(src);
  assert.deepEqual(all.map((s) => s.name), ['visible']);
});

test('error: function not found, with a suggestion or the list of functions', async () => {
  const src = 'int scale_vec(int x) { return x; }\nint other(void) { return 0; }\n';
  await rejects(src, 'scale_vek', 'not-found', /no definition of function 'scale_vek'\. Did you mean 'scale_vec'\?/);
  await rejects(src, 'zzz', 'not-found', /Functions defined here: scale_vec, other/);
  await rejects('', 'f', 'not-found', /defines no functions/);
});

test('error: only a declaration in this file', async () => {
  await rejects('int f(int x);\nint g(void) { return f(1); }\n', 'f', 'declared-only', /f\.c:1: 'f' is only declared/);
  await assert.rejects(findFunction('int f(int x);\n', 'f', 'f.c'), (e: unknown) =>
    e instanceof SignatureError && e.line === 1 && e.file === 'f.c' && e.reason === "'f' is only declared here; its definition is not in this file");
});

test('error: variadic', async () => {
  await rejects('int logf2(const char *fmt, ...) { return 0; }', 'logf2', 'variadic', /variadic/);
});

test('error: struct or union by value, as parameter or return; pointers to them are fine', async () => {
  const src = `struct point { int x, y; };
typedef struct { float v[3]; } vec3;
union u { int i; float f; };
int px(struct point p) { return p.x; }
vec3 mk(float a) { vec3 v = {{a, a, a}}; return v; }
int ux(union u v) { return v.i; }
int ok(struct point *p, const vec3 *v) { return p->x; }`;
  await rejects(src, 'px', 'struct-by-value', /parameter 'p' of 'px': 'struct point' is a struct passed by value; pass a pointer/);
  await rejects(src, 'mk', 'struct-by-value', /return type of 'mk': 'vec3' is a struct/);
  await rejects(src, 'ux', 'struct-by-value', /'union u' is a union passed by value/);
  assert.deepEqual(shapes(await findFunction(src, 'ok')), ['i32', 'ptr<opaque>', 'ptr<const opaque>']);
});

test('error: unknown type names the type', async () => {
  await rejects('esp_foo_t f(int x) { return 0; }', 'f', 'unknown-type', /return type of 'f': unknown type 'esp_foo_t'/);
  await rejects('int g(my_t *x) { return 0; }', 'g', 'unknown-type', /parameter 'x' of 'g': unknown type 'my_t'/);
  await rejects('typedef mystery_t alias_t;\nint h(alias_t x) { return 0; }', 'h', 'unknown-type', /typedef 'alias_t': unknown type 'mystery_t'/);
});

test('error: unsupported scalar types', async () => {
  await rejects('long double f(void) { return 0; }', 'f', 'unsupported-type', /'long double' is a 128-bit type/);
  await rejects('float _Complex f(void) { return 0; }', 'f', 'unsupported-type', /_Complex/);
  await rejects('__int128 f(void) { return 0; }', 'f', 'unsupported-type', /__int128/);
});

test(`error: more than ${MAX_ARG_SLOTS} parameters; exactly ${MAX_ARG_SLOTS} is fine`, async () => {
  const params = (n: number) => Array.from({ length: n }, (_, i) => `int a${i}`).join(', ');
  assert.equal((await findFunction(`int f(${params(MAX_ARG_SLOTS)}) { return 0; }`, 'f')).params.length, MAX_ARG_SLOTS);
  await rejects(`int f(${params(MAX_ARG_SLOTS + 1)}) { return 0; }`, 'f', 'too-many-params', /33 parameters; a call passes at most 32/);
  // A smaller device limit from INFO max_args.
  await assert.rejects(findFunction('int f(int a, int b) { return 0; }', 'f', undefined, { maxSlots: 1 }), /at most 1/);
});

test('error: K&R definition', async () => {
  await rejects('int add(a, b)\n  int a;\n  int b;\n{ return a + b; }', 'add', 'knr', /old-style \(K&R\)/);
});

test('error: an unparseable head names the offending token', async () => {
  await rejects('int lower_macro f(int x) { return x; }', 'f', 'parse-error', /cannot parse the definition of 'f' near/);
});

test('error: two definitions with different signatures in #if branches', async () => {
  const src = '#ifdef FAST\nint f(int x) { return x; }\n#else\nfloat f(float x) { return x; }\n#endif\n';
  await rejects(src, 'f', 'ambiguous', /defined more than once with different signatures \(lines 2, 4\)/);
  const same = '#ifdef FAST\nint f(int x) { return x; }\n#else\nint f(int y) { return y + 1; }\n#endif\n';
  assert.equal((await findFunction(same, 'f')).startLine, 2);
});

test('functionAt: the function around a line, errors between functions', async () => {
  const src = `int first(int x)
{
    return x;
}

float second(float y) { return y; }
int bad(int n, ...) { return n; }
`;
  assert.equal((await functionAt(src, 1)).name, 'first');
  assert.equal((await functionAt(src, 3)).name, 'first');
  assert.equal((await functionAt(src, 6)).name, 'second');
  await assert.rejects(functionAt(src, 5, 'x.c'), (e: unknown) =>
    e instanceof SignatureError && e.code === 'no-function-at-line' && /line 5 is not inside a function definition \(functions here: first at 1-4/.test(e.message));
  await assert.rejects(functionAt(src, 7), (e: unknown) => e instanceof SignatureError && e.code === 'variadic');
});

test('parseFunctions lists uncallable functions with their problem', async () => {
  const all = await parseFunctions('int ok(int x) { return x; }\nint va(int n, ...) { return n; }\n');
  assert.deepEqual(all.map((s) => [s.name, s.problem?.code]), [['ok', undefined], ['va', 'variadic']]);
});

test('ctypes: type text normalisation and direct resolution', () => {
  assert.equal(normalizeTypeText('const   float*'), 'const float *');
  assert.equal(normalizeTypeText('char * *'), 'char **');
  assert.equal(normalizeTypeText('float(*)(float)'), 'float (*)(float)');
  const scope = new TypeScope();
  scope.defineTypedef('real', 'float');
  assert.equal(scope.paramType('const real *').pointee?.kind, 'f32');
  assert.equal(scope.paramType('const real *').pointee?.isConst, true);
  assert.equal(scope.paramType('real * const').pointee?.isConst, false, 'a const pointer to mutable data');
  assert.equal(scope.paramType('int [3]').kind, 'ptr');
  assert.equal(scope.returnType('int [3]').kind, 'invalid');
  assert.equal(scope.paramType('unsigned float').kind, 'invalid');
  assert.equal(scope.paramType('float (*)(float)').pointee?.kind, 'opaque');
});

const riscvGcc = (() => {
  for (const gcc of ['riscv32-esp-elf-gcc', 'riscv64-unknown-elf-gcc']) {
    try { execFileSync(gcc, ['--version'], { stdio: 'ignore' }); return gcc; } catch { /* try the next */ }
  }
  return undefined;
})();

test('the kind table matches the RISC-V compiler (size, signedness and spelling of every type)',
  { skip: !riscvGcc && 'no RISC-V GCC on PATH (riscv32-esp-elf-gcc or riscv64-unknown-elf-gcc)' }, () => {
    const scope = new TypeScope();
    const basics = ['char', 'signed char', 'unsigned char', 'short', 'unsigned short', 'int', 'unsigned', 'long',
      'unsigned long', 'long long', 'unsigned long long', '_Bool', 'float', 'double', 'void *'];
    // Names from headers a freestanding compile does not have are checked through their predefined macro only.
    const headerless = ['ssize_t', 'esp_err_t', 'char16_t', 'char32_t'];
    const withHeaders = Object.keys(STANDARD_TYPEDEFS).filter((n) => !headerless.includes(n));
    const lines = ['#include <stdint.h>', '#include <stddef.h>', '#include <stdbool.h>'];
    for (const name of headerless) {
      const [kind, cType] = STANDARD_TYPEDEFS[name];
      lines.push(`_Static_assert(sizeof(${cType}) == ${KINDS[kind].size} && ((${cType})-1 < 0) == ${Number(KINDS[kind].signed)}, "${name}");`);
    }
    for (const text of [...basics, ...withHeaders]) {
      const t = scope.paramType(text);
      assert.notEqual(t.kind, 'invalid', text);
      const k = KINDS[t.kind as keyof typeof KINDS];
      const signed = t.kind === 'ptr' || t.kind === 'bool' ? 0 : Number(k.signed);
      lines.push(`_Static_assert(sizeof(${text}) == ${k.size}, "size of ${text}");`);
      if (!k.float && t.kind !== 'ptr') lines.push(`_Static_assert(((${text})-1 < 0) == ${signed}, "signedness of ${text}");`);
      lines.push(`_Static_assert(__builtin_types_compatible_p(${text}, ${t.cType.replace(/ \*$/, '*')}), "spelling of ${text}");`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'p4jit-types-'));
    try {
      writeFileSync(join(dir, 'types.c'), lines.join('\n') + '\n');
      execFileSync(riscvGcc!, ['-march=rv32imafc_zicsr_zifencei', '-mabi=ilp32f', '-ffreestanding', '-fsyntax-only', join(dir, 'types.c')],
        { stdio: 'pipe' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
