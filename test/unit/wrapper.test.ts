import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { findFunction, parseFunctions, type FunctionSignature } from '../../toolchain/signature.js';
import { generateWrapper, writeWrapper, needsSourceIncluded, ENTRY_SYMBOL } from '../../toolchain/wrapper.js';
import {
  parseArguments, decodeReturn, decodeArray, encodeScalar, decodeScalar, type Argument, type JsValue,
} from '../../toolchain/args.js';
import { formatValue } from '../../extension/session/format.js';
import type { ScalarKind } from '../../toolchain/ctypes.js';

const work = mkdtempSync(join(tmpdir(), 'p4jit-wrapper-'));
after(() => rmSync(work, { recursive: true, force: true }));

function has(exe: string): boolean {
  try { execFileSync(exe, ['--version'], { stdio: 'ignore' }); return true; } catch { return false; }
}
const riscvGcc = ['riscv32-esp-elf-gcc', 'riscv64-unknown-elf-gcc'].find(has);
const hostGcc = has('gcc') ? 'gcc' : undefined;
/** The compile flags of the JIT build (see the toolchain notes: compile arch differs from link arch on GCC 12). */
const RISCV_FLAGS = ['-march=rv32imafc_zicsr_zifencei', '-mabi=ilp32f', '-ffreestanding', '-O2', '-c'];

function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}\n${r.stderr}`);
  return r.stderr;
}

// ---------------------------------------------------------------- wrapper text

const sigOf = (src: string, name: string) => findFunction(src, name, '/src/user.c');

test('wrapper text: unpacking of every parameter kind', async () => {
  const sig = await sigOf(`#include <stdint.h>
#include <stdbool.h>
void all(int8_t a, uint8_t b, int16_t c, uint16_t d, int32_t e, uint32_t f, int64_t g, uint64_t h,
         bool i, float j, double k, const float *l, char *m, void *n) {}`, 'all');
  const { code, includesSource } = generateWrapper(sig);
  assert.equal(includesSource, false);
  const expected = [
    '__INT8_TYPE__ a0 = (__INT8_TYPE__)args[0];',
    '__UINT8_TYPE__ a1 = (__UINT8_TYPE__)args[1];',
    '__INT16_TYPE__ a2 = (__INT16_TYPE__)args[2];',
    '__UINT16_TYPE__ a3 = (__UINT16_TYPE__)args[3];',
    '__INT32_TYPE__ a4 = (__INT32_TYPE__)args[4];',
    '__UINT32_TYPE__ a5 = (__UINT32_TYPE__)args[5];',
    '__INT64_TYPE__ a6 = (__INT64_TYPE__)args[6];',
    '__UINT64_TYPE__ a7 = (__UINT64_TYPE__)args[7];',
    '_Bool a8 = args[8] != 0;',
    'float a9;\n    { __p4jit_u32 bits = (__p4jit_u32)args[9]; __builtin_memcpy(&a9, &bits, 4); }',
    'double a10;\n    __builtin_memcpy(&a10, &args[10], 8);',
    'const float *a11 = (const float *)(__p4jit_uptr)(__p4jit_u32)args[11];',
    'char *a12 = (char *)(__p4jit_uptr)(__p4jit_u32)args[12];',
    'void *a13 = (void *)(__p4jit_uptr)(__p4jit_u32)args[13];',
    // through a register, so the function is not inlined into the entry
    '__typeof__(all) *__p4jit_fn = all;\n    __asm__("" : "+r"(__p4jit_fn));',
    // and called by its own name, so GCC's type errors name the user's function
    '__typeof__(all) *const all = __p4jit_fn;',
    'all(a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13);\n    *ret = 0;',
  ];
  for (const line of expected) assert.ok(code.includes(line), `missing:\n${line}\nin:\n${code}`);
  assert.ok(code.includes('void all(__INT8_TYPE__ p0, __UINT8_TYPE__ p1, __INT16_TYPE__ p2, __UINT16_TYPE__ p3, __INT32_TYPE__ p4, ' +
    '__UINT32_TYPE__ p5, __INT64_TYPE__ p6, __UINT64_TYPE__ p7, _Bool p8, float p9, double p10, const float *p11, char *p12, void *p13);'),
  'the prototype repeats the exact types');
  assert.ok(code.includes(`void ${ENTRY_SYMBOL}(__p4jit_u64 *args, __p4jit_u64 *ret)`));
  assert.ok(!code.includes('#include'), 'no header is needed');
});

test('wrapper text: packing of every return kind at full width', async () => {
  const cases: Array<[string, string]> = [
    ['int8_t', '*ret = (__p4jit_u64)(__p4jit_i64)r;'],
    ['int32_t', '*ret = (__p4jit_u64)(__p4jit_i64)r;'],
    ['int64_t', '*ret = (__p4jit_u64)(__p4jit_i64)r;'],
    ['uint16_t', '*ret = (__p4jit_u64)r;'],
    ['uint32_t', '*ret = (__p4jit_u64)r;'],
    ['uint64_t', '*ret = (__p4jit_u64)r;'],
    ['bool', '*ret = r ? 1u : 0u;'],
    ['float', '{ __p4jit_u32 bits; __builtin_memcpy(&bits, &r, 4); *ret = bits; }'],
    ['double', '__builtin_memcpy(ret, &r, 8);'],
    ['const char *', '*ret = (__p4jit_u32)(__p4jit_uptr)r;'],
  ];
  for (const [type, line] of cases) {
    const sig = await sigOf(`#include <stdint.h>\n#include <stdbool.h>\n${type} f(void) { return 0; }`, 'f');
    const { code } = generateWrapper(sig);
    assert.ok(code.includes(line), `${type}: missing ${line}\n${code}`);
    assert.ok(code.includes('(void)args;'), 'an unused args pointer is marked used');
  }
});

test('static and C99 inline functions: the wrapper includes the source; extern inline does not need it', async () => {
  const src = 'static int s(int x) { return x; }\ninline int i(int x) { return x; }\nextern inline int e(int x) { return x; }\n';
  const [s, i, e] = await parseFunctions(src, '/src/user.c');
  assert.equal(needsSourceIncluded(s), true);
  assert.equal(needsSourceIncluded(i), true);
  assert.equal(needsSourceIncluded(e), false);
  assert.throws(() => generateWrapper({ ...s, file: undefined }), /give sourcePath/);
  const ws = generateWrapper(s, { sourcePath: '/src/user.c' });
  assert.equal(ws.includesSource, true);
  assert.ok(ws.code.includes('#include "/src/user.c"'));
  assert.ok(!/^int s\(/m.test(ws.code), 'no second prototype for an included function');
  assert.ok(generateWrapper(i, { sourcePath: '/src/user.c' }).code.includes('extern __typeof__(i) i;'));
  assert.throws(() => generateWrapper(s, { sourcePath: '/src/we"ird.c' }), /quote/);
});

test('a signature with a problem is refused', async () => {
  const [va] = await parseFunctions('int va(int n, ...) { return n; }');
  assert.throws(() => generateWrapper(va), /variadic/);
});

test('writeWrapper writes into the build folder and never into the source folder', async () => {
  const srcDir = join(work, 'project');
  mkdirSync(srcDir, { recursive: true });
  const file = join(srcDir, 'user.c');
  writeFileSync(file, 'int f(int x) { return x; }\n');
  const sig = await findFunction(readFileSync(file, 'utf8'), 'f', file);
  await assert.rejects(writeWrapper(srcDir, sig), /source's own folder/);
  const out = await writeWrapper(join(work, 'build', 'f'), sig);
  assert.equal(readFileSync(out.path, 'utf8'), out.code);
  assert.ok(!existsSync(join(srcDir, out.fileName)));
});

// ---------------------------------------------------------------- real RISC-V compiler

/** Many signatures the wrapper must handle, in a file that compiles without a C library. */
const MANY = `#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#define IRAM_ATTR __attribute__((section(".iram1.text")))
typedef float real;
typedef enum { RED, GREEN } color_t;
struct node { int v; struct node *next; };
typedef int (*callback_t)(int);

int8_t f_i8(int8_t a) { return (int8_t)-a; }
uint8_t f_u8(uint8_t a, char c, signed char s, unsigned char u) { return (uint8_t)(a + c + s + u); }
int16_t f_i16(int16_t a, short b) { return (int16_t)(a - b); }
uint16_t f_u16(uint16_t a, unsigned short b) { return (uint16_t)(a * b); }
int32_t f_i32(int32_t a, int b, long c) { return a + b + (int32_t)c; }
uint32_t f_u32(uint32_t a, unsigned b, unsigned long c, size_t d) { return a + b + (uint32_t)c + (uint32_t)d; }
int64_t f_i64(int64_t a, long long b) { return a * b; }
uint64_t f_u64(uint64_t a, unsigned long long b) { return a ^ b; }
bool f_bool(bool a, _Bool b) { return a && !b; }
float IRAM_ATTR f_f32(float a, real b) { return a * b; }
double f_f64(double a, double b) { return a / b; }
void f_void(void) { }
real f_arrays(real x[], const float y[16], int32_t n) { real s = 0; for (int32_t i = 0; i < n; i++) s += x[i] * y[i]; return s; }
const char *f_str(const char *s, ptrdiff_t off) { return s + off; }
int f_opaque(struct node *n, callback_t cb, void *user, const void *cuser, color_t c, color_t *pc) {
  (void)user; (void)cuser; return cb(n->v) + (int)c + (int)*pc;
}
int (*f_fnptr(int which))(int) { (void)which; return 0; }
uint64_t f_mixed(int8_t a, uint16_t b, float c, double d, int64_t e, bool f, volatile uint8_t *g, intptr_t h, uintptr_t i) {
  return (uint64_t)(a + b + (int)c + (int)d + e + f + *g + h + (intptr_t)i);
}
int f_32(int a0, int a1, int a2, int a3, int a4, int a5, int a6, int a7, int a8, int a9, int a10, int a11, int a12, int a13,
         int a14, int a15, int a16, int a17, int a18, int a19, int a20, int a21, int a22, int a23, int a24, int a25, int a26,
         int a27, int a28, int a29, int a30, int a31) {
  return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15 + a16 + a17 + a18 + a19 + a20
       + a21 + a22 + a23 + a24 + a25 + a26 + a27 + a28 + a29 + a30 + a31;
}
`;
const STATICS = `#include <stdint.h>
static int32_t triple(int32_t x) { return 3 * x; }
inline int32_t add_one(int32_t x) { return x + 1; }
static inline float half(float x) { return x * 0.5f; }
`;

test('generated wrappers compile with the RISC-V GCC (-Wall -Wextra -Werror) and link under LTO without type mismatches',
  { skip: !riscvGcc && 'no RISC-V GCC on PATH (riscv32-esp-elf-gcc or riscv64-unknown-elf-gcc): install gcc-riscv64-unknown-elf' },
  async () => {
    const dir = join(work, 'riscv');
    mkdirSync(dir, { recursive: true });
    const userFile = join(dir, 'many.c');
    const staticsFile = join(dir, 'statics.c');
    writeFileSync(userFile, MANY);
    writeFileSync(staticsFile, STATICS);
    const sigs = await parseFunctions(MANY, userFile);
    assert.equal(sigs.length, 18);
    for (const s of sigs) assert.equal(s.problem, undefined, `${s.name}: ${s.problem?.message}`);
    const statics = await parseFunctions(STATICS, staticsFile);
    const separate = [userFile];
    const including: string[] = [];
    for (const sig of [...sigs, ...statics]) {
      const w = generateWrapper(sig, { entrySymbol: `entry_${sig.name}` });
      const path = join(dir, `entry_${sig.name}.c`);
      writeFileSync(path, w.code);
      (w.includesSource ? including : separate).push(path);
    }
    // One compiler run per group (the machine may be slow); fat LTO objects serve both nm and the LTO link.
    const flags = [...RISCV_FLAGS, '-flto', '-ffat-lto-objects', '-Wall', '-Wextra'];
    run(riscvGcc!, [...flags, '-Werror', ...separate], dir);
    // An included source brings its own unused statics along; the wrapper lines themselves are checked above.
    run(riscvGcc!, [...flags, '-Wno-unused-function', ...including], dir);
    const objects = [...separate, ...including].map((f) => f.replace(/\.c$/, '.o'));
    const syms = execFileSync(riscvGcc!.replace(/gcc$/, 'nm'), objects, { encoding: 'utf8' });
    for (const sig of [...sigs, ...statics]) assert.match(syms, new RegExp(`\\bT entry_${sig.name}\\b`));
    const link = run(riscvGcc!, ['-march=rv32imafc', '-mabi=ilp32f', '-flto', '-O2', '-nostdlib', '-Wl,-e,entry_f_i8',
      '-Wlto-type-mismatch', ...objects, '-lgcc', '-o', join(dir, 'all.elf')]);
    assert.doesNotMatch(link, /type-mismatch|warning/, link);
  });

// ---------------------------------------------------------------- semantics on the host

/**
 * Functions with the same meaning on x86-64 and RV32 (no long, size_t or plain-char arithmetic):
 * the host GCC runs them through the generated wrappers, fed with slots from args.ts.
 */
const SEMANTIC = `#include <stdint.h>
#include <stdbool.h>
int8_t id_i8(int8_t x) { return x; }
uint8_t id_u8(uint8_t x) { return x; }
int16_t id_i16(int16_t x) { return x; }
uint16_t id_u16(uint16_t x) { return x; }
int32_t id_i32(int32_t x) { return x; }
uint32_t id_u32(uint32_t x) { return x; }
int64_t id_i64(int64_t x) { return x; }
uint64_t id_u64(uint64_t x) { return x; }
bool id_bool(bool x) { return x; }
float id_f32(float x) { return x; }
double id_f64(double x) { return x; }
int8_t neg_i8(int8_t x) { return (int8_t)-x; }
uint32_t twice_u32(uint32_t x) { return x * 2u; }
int64_t mul_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
bool is_negative(int32_t x) { return x < 0; }
float scale_f32(float x, float k) { return x * k; }
int32_t negative_one(void) { return -1; }
uint32_t big_u32(void) { return 0x80000001u; }
void nothing(void) { }
double mixed(int8_t a, uint16_t b, float c, double d, int64_t e, bool f, uint8_t g) {
  return a * 1.0 + b * 3.0 + c * 5.0 + d * 7.0 + (double)e * 11.0 + (f ? 13.0 : 0.0) + g * 17.0;
}
int64_t weighted(int32_t a0, int32_t a1, int32_t a2, int32_t a3, int32_t a4, int32_t a5, int32_t a6, int32_t a7,
                 int32_t a8, int32_t a9, int32_t a10, int32_t a11, int32_t a12, int32_t a13, int32_t a14, int32_t a15,
                 int32_t a16, int32_t a17, int32_t a18, int32_t a19, int32_t a20, int32_t a21, int32_t a22, int32_t a23,
                 int32_t a24, int32_t a25, int32_t a26, int32_t a27, int32_t a28, int32_t a29, int32_t a30, int32_t a31) {
  const int32_t a[32] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15,
                         a16, a17, a18, a19, a20, a21, a22, a23, a24, a25, a26, a27, a28, a29, a30, a31};
  int64_t s = 0;
  for (int i = 0; i < 32; i++) s += (int64_t)(i + 1) * a[i];
  return s;
}
void scale_in_place(float *x, int32_t n, float k) { for (int32_t i = 0; i < n; i++) x[i] *= k; }
int32_t sum_i16(const int16_t *v, int32_t n) { int32_t s = 0; for (int32_t i = 0; i < n; i++) s += v[i]; return s; }
double dot(const double *a, const double *b, int32_t n) { double s = 0; for (int32_t i = 0; i < n; i++) s += a[i] * b[i]; return s; }
uint32_t length(const char *s) { uint32_t n = 0; while (s[n]) n++; return n; }
void fill_u64(uint64_t *out, int32_t n, uint64_t v) { for (int32_t i = 0; i < n; i++) out[i] = v + (uint64_t)i; }
void negate4(int8_t v[4]) { for (int i = 0; i < 4; i++) v[i] = (int8_t)-v[i]; }
const char *skip(const char *s, int32_t n) { return s + n; }
`;

/** A host program that plays the device: reads calls (hex slots, `A:` arrays) and prints ret and buffers. */
function harnessMain(names: string[]): string {
  return `#include <stdio.h>
#include <stdint.h>
#include <string.h>
typedef void (*entry_fn)(uint64_t *, uint64_t *);
${names.map((n) => `void entry_${n}(uint64_t *, uint64_t *);`).join('\n')}
static const struct { const char *name; entry_fn fn; } table[] = {
${names.map((n) => `  {"${n}", entry_${n}},`).join('\n')}
};
static unsigned char arena[1 << 20]; /* in .bss: below 4 GiB in a non-PIE program, like a 32-bit device address */
static unsigned hexval(char c) { return c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 32) - 'a' + 10); }
static size_t unhex(const char *s, unsigned char *out) { size_t n = 0; for (; s[0] && s[1]; s += 2) out[n++] = (unsigned char)(hexval(s[0]) << 4 | hexval(s[1])); return n; }
static void hex(const unsigned char *p, size_t n) { for (size_t i = 0; i < n; i++) printf("%02x", p[i]); }
static char line[1 << 20];
int main(void) {
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\\r\\n")] = 0;
    uint64_t slots[32];
    unsigned char *bufs[32]; size_t lens[32]; int nbufs = 0, nslots = 0; size_t used = 0;
    char *tok = strtok(line, " ");
    entry_fn fn = 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) if (!strcmp(table[i].name, tok)) fn = table[i].fn;
    if (!fn) { printf("E unknown %s\\n", tok); continue; }
    while ((tok = strtok(0, " "))) {
      if (tok[0] == 'A' && tok[1] == ':') {
        unsigned char *b = arena + used;
        size_t n = unhex(tok + 2, b);
        used += (n + 15) & ~(size_t)15;
        uint64_t addr = (uint64_t)(uintptr_t)b;
        if (addr >> 32) { printf("E arena above 4 GiB\\n"); return 1; }
        memcpy(&slots[nslots++], &addr, 8);
        bufs[nbufs] = b; lens[nbufs++] = n;
      } else {
        unhex(tok, (unsigned char *)&slots[nslots++]);
      }
    }
    uint64_t ret = 0xa5a5a5a5a5a5a5a5ull; /* not 0: the wrapper must write all 8 bytes */
    fn(slots, &ret);
    printf("R "); hex((unsigned char *)&ret, 8);
    for (int i = 0; i < nbufs; i++) { printf(" %llx:", (unsigned long long)(uintptr_t)bufs[i]); hex(bufs[i], lens[i]); }
    printf("\\n");
  }
  return 0;
}
`;
}

interface HostCall { name: string; slots: Array<Buffer | { array: Buffer }> }
interface HostResult { ret: Buffer; arrays: Array<{ addr: number; bytes: Buffer }> }

let host: { sigs: Map<string, FunctionSignature>; exe: string } | undefined;

async function buildHost(): Promise<NonNullable<typeof host>> {
  if (host) return host;
  const dir = join(work, 'host');
  mkdirSync(dir, { recursive: true });
  const userFile = join(dir, 'semantic.c');
  const staticsFile = join(dir, 'statics.c');
  writeFileSync(userFile, SEMANTIC);
  writeFileSync(staticsFile, STATICS);
  const sigs = [...await parseFunctions(SEMANTIC, userFile), ...await parseFunctions(STATICS, staticsFile)];
  const sources = [userFile];
  for (const sig of sigs) {
    assert.equal(sig.problem, undefined, `${sig.name}: ${sig.problem?.message}`);
    const w = generateWrapper(sig, { entrySymbol: `entry_${sig.name}` });
    const path = join(dir, `entry_${sig.name}.c`);
    writeFileSync(path, w.code);
    sources.push(path);
  }
  writeFileSync(join(dir, 'main.c'), harnessMain(sigs.map((s) => s.name)));
  const exe = join(dir, 'harness');
  // -O0 keeps C99 inline calls out of line (so they must link); -funsigned-char matches RISC-V.
  run(hostGcc!, ['-O0', '-funsigned-char', '-no-pie', '-Wall', '-Wno-unused-function', ...sources, join(dir, 'main.c'), '-o', exe]);
  host = { sigs: new Map(sigs.map((s) => [s.name, s])), exe };
  return host;
}

function runHost(exe: string, calls: HostCall[]): HostResult[] {
  const input = calls.map((c) => [c.name, ...c.slots.map((s) => Buffer.isBuffer(s) ? s.toString('hex') : `A:${s.array.toString('hex')}`)].join(' ')).join('\n') + '\n';
  const out = execFileSync(exe, { input, encoding: 'utf8', maxBuffer: 64 << 20 }).trim().split('\n');
  assert.equal(out.length, calls.length);
  return out.map((line) => {
    assert.ok(line.startsWith('R '), line);
    const [, ret, ...arrays] = line.split(' ');
    return {
      ret: Buffer.from(ret, 'hex'),
      arrays: arrays.map((a) => { const [addr, bytes] = a.split(':'); return { addr: parseInt(addr, 16), bytes: Buffer.from(bytes, 'hex') }; }),
    };
  });
}

/** Calls `name` with argument strings, as the CLI would; returns the decoded result and arrays. */
async function callText(calls: Array<[string, string[]]>): Promise<Array<{ value: JsValue | undefined; ret: Buffer; arrays: JsValue[][]; addrs: number[]; args: Argument[] }>> {
  const { sigs, exe } = await buildHost();
  const prepared = calls.map(([name, texts]) => {
    const sig = sigs.get(name)!;
    const args = parseArguments(texts, sig);
    return { sig, args, call: { name, slots: args.map((a) => a.kind === 'scalar' ? a.slot : { array: a.data }) } };
  });
  const results = runHost(exe, prepared.map((p) => p.call));
  return results.map((r, i) => {
    const { sig, args } = prepared[i];
    const arrayArgs = args.filter((a) => a.kind === 'array');
    return {
      value: decodeReturn(sig.returnType, r.ret),
      ret: r.ret,
      arrays: r.arrays.map((a, k) => decodeArray((arrayArgs[k] as Extract<Argument, { kind: 'array' }>).element, a.bytes)),
      addrs: r.arrays.map((a) => a.addr),
      args,
    };
  });
}

const hostSkip = !hostGcc && 'host gcc not found: the wrapper semantics test needs it';

test('host: results of every type come back exact, sign-extended at full width', { skip: hostSkip }, async () => {
  const r = await callText([
    ['neg_i8', ['-128']], ['neg_i8', ['5']], ['twice_u32', ['0x80000001']], ['mul_i64', ['-9223372036854775808', '-1']],
    ['mul_i64', ['3037000499', '3037000499']], ['is_negative', ['-5']], ['is_negative', ['0']], ['scale_f32', ['1.5', '-2']],
    ['negative_one', []], ['big_u32', []], ['nothing', []], ['triple', ['-7']], ['add_one', ['2147483647']], ['half', ['3']],
    ['id_u32', ['2147483649']], ['id_i64', ['-1']],
  ]);
  assert.deepEqual(r.map((x) => x.value), [
    -128, -5, 2, -9223372036854775808n, 9223372030926249001n, true, false, -3, -1, 0x80000001, undefined, -21, -2147483648, 1.5,
    2147483649, -1n,
  ]);
  assert.equal(r[8].ret.toString('hex'), 'ffffffffffffffff', 'int32 -1 is sign-extended to 64 bits');
  assert.equal(r[9].ret.toString('hex'), '0100008000000000', 'uint32 above 2^31 is zero-extended');
  assert.equal(r[10].ret.toString('hex'), '0000000000000000', 'void writes 0');
  assert.equal(r[5].ret.toString('hex'), '0100000000000000', 'bool is exactly 1');
});

test('host: slot order with mixed types and all 32 slots', { skip: hostSkip }, async () => {
  const [m, w] = await callText([
    ['mixed', ['-3', '65535', '0.25', '-1e10', '-9007199254740991', 'true', '255']],
    ['weighted', Array.from({ length: 32 }, (_, i) => String((i % 2 ? -1 : 1) * (1000 + i)))],
  ]);
  assert.equal(m.value, -3 + 65535 * 3 + 0.25 * 5 - 1e10 * 7 + -9007199254740991 * 11 + 13 + 255 * 17);
  let expected = 0n;
  for (let i = 0; i < 32; i++) expected += BigInt(i + 1) * BigInt((i % 2 ? -1 : 1) * (1000 + i));
  assert.equal(w.value, expected);
});

test('host: arrays are passed by address, written back when mutable, and strings are NUL-terminated', { skip: hostSkip }, async () => {
  const [scale, sum, dot, len, fill, neg, skip] = await callText([
    ['scale_in_place', ['[1, -2.5, 3e-3, 0]', '4', '2']],
    ['sum_i16', ['[32767, 1, -32768, 0x7fff]', '4']],
    ['dot', ['[1.5, 2, 3]', '[2, 0.5, -1]', '3']],
    ['length', ['"héllo"']],
    ['fill_u64', ['[0]*3', '3', '18446744073709551614']],
    ['negate4', ['[-128, 1, 0x7f, 0]']],
    ['skip', ['"abcdef"', '2']],
  ]);
  assert.deepEqual(scale.arrays[0], [2, -5, Math.fround(Math.fround(3e-3) * 2), 0]);
  assert.equal(scale.args[0].kind === 'array' && scale.args[0].copyBack, true);
  assert.equal(sum.value, 32767 + 1 - 32768 + 32767);
  assert.equal(sum.args[0].kind === 'array' && sum.args[0].copyBack, false, 'const data needs no read-back');
  assert.equal(dot.value, 1.5 * 2 + 2 * 0.5 - 3);
  assert.equal(len.value, Buffer.byteLength('héllo'));
  assert.deepEqual(fill.arrays[0], [18446744073709551614n, 18446744073709551615n, 0n]);
  assert.deepEqual(neg.arrays[0], [-128, -1, -127, 0]);
  assert.equal(skip.value, skip.addrs[0] + 2, 'a returned pointer is the device address');
});

/** Sampled values of each kind, with the edge values always included. */
function samples(kind: ScalarKind): JsValue[] {
  const ints: Record<string, [bigint, bigint]> = {
    i8: [-128n, 127n], u8: [0n, 255n], i16: [-32768n, 32767n], u16: [0n, 65535n], i32: [-(2n ** 31n), 2n ** 31n - 1n],
    u32: [0n, 2n ** 32n - 1n], i64: [-(2n ** 63n), 2n ** 63n - 1n], u64: [0n, 2n ** 64n - 1n],
  };
  if (kind === 'bool') return [true, false];
  if (kind === 'f32') {
    return [0, -0, 1, -1, 1.401298464324817e-45, 1.1754942106924411e-38, 1.1754943508222875e-38, 3.4028234663852886e38, Infinity, -Infinity, NaN,
      ...fc.sample(fc.float(), 300)];
  }
  if (kind === 'f64') return [0, -0, 5e-324, 2.2250738585072009e-308, Number.MAX_VALUE, -Infinity, NaN, 0.1, ...fc.sample(fc.double(), 300)];
  const [min, max] = ints[kind];
  const big = [min, max, min + 1n, max - 1n, 0n, 2n ** 31n + 1n, ...fc.sample(fc.bigInt({ min, max }), 300)].filter((v) => v >= min && v <= max);
  return kind === 'i64' || kind === 'u64' ? big : big.map(Number);
}

test('host: identity functions return every sampled value unchanged, through text and through slots', { skip: hostSkip }, async () => {
  const kinds: ScalarKind[] = ['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'bool', 'f32', 'f64'];
  const calls: Array<[string, string[]]> = [];
  const expected: Array<[ScalarKind, JsValue]> = [];
  for (const kind of kinds) {
    for (const v of samples(kind)) {
      calls.push([`id_${kind}`, [formatValue(kind, v)]]); // the display text reads back to the same value
      expected.push([kind, v]);
    }
  }
  const results = await callText(calls);
  results.forEach((r, i) => {
    const [kind, v] = expected[i];
    if (typeof v === 'number' && Number.isNaN(v)) assert.ok(Number.isNaN(r.value as number), `${kind} NaN`);
    else assert.ok(Object.is(r.value, v), `${kind}: sent ${String(v)}, got ${String(r.value)}`);
    assert.deepEqual(r.ret, encodeScalar(kind, r.value!), `${kind} ${String(v)}: full-width slot`);
  });
});

test('host: raw slots — floats keep every bit pattern (NaN payloads, -0, denormals); small ints ignore high garbage',
  { skip: hostSkip }, async () => {
    const { exe } = await buildHost();
    const f32Bits = [0x7fc00123, 0x7f800001, 0xffc00000, 0x80000000, 0x00000001, 0x007fffff, 0x7f7fffff, ...fc.sample(fc.integer({ min: 0, max: 2 ** 32 - 1 }), 300)];
    const f64Bits = [0x7ff8000000000123n, 0x7ff0000000000001n, 0x8000000000000000n, 1n, ...fc.sample(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), 300)];
    const garbage = fc.sample(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), 200);
    const slot64 = (v: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(v); return b; };
    const calls: HostCall[] = [
      ...f32Bits.map((b) => ({ name: 'id_f32', slots: [slot64(BigInt(b))] })),
      ...f64Bits.map((b) => ({ name: 'id_f64', slots: [slot64(b)] })),
      ...garbage.flatMap((g) => ['id_i8', 'id_u8', 'id_i16', 'id_u16', 'id_i32', 'id_u32'].map((name) => ({ name, slots: [slot64(g)] }))),
    ];
    const results = runHost(exe, calls);
    let i = 0;
    for (const b of f32Bits) assert.equal(results[i++].ret.readBigUInt64LE(), BigInt(b), `float bits 0x${b.toString(16)}`);
    for (const b of f64Bits) assert.equal(results[i++].ret.readBigUInt64LE(), b, `double bits 0x${b.toString(16)}`);
    for (const g of garbage) {
      for (const [bits, signed] of [[8, true], [8, false], [16, true], [16, false], [32, true], [32, false]] as const) {
        const low = signed ? BigInt.asIntN(bits, g) : BigInt.asUintN(bits, g);
        assert.equal(results[i++].ret.readBigInt64LE(), signed ? low : BigInt.asIntN(64, low), `${signed ? 'i' : 'u'}${bits} from 0x${g.toString(16)}`);
      }
    }
    // decodeScalar reads the same values from those slots.
    assert.equal(decodeScalar('i8', slot64(0xffffffffffffff80n)), -128);
  });
