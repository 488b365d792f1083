// The C type model of the typed-call path: which C types a function called through the generated
// wrapper may take and return, and how each one travels in an 8-byte argument slot.
// Target ABI: RV32 ilp32f (ESP32-P4): int/long/pointers are 32-bit, long long 64-bit, plain char unsigned.
import { P4JitError } from '../extension/util/errors.js';

export type ElementKind = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64' | 'bool' | 'f32' | 'f64';
export type ScalarKind = ElementKind | 'ptr';

export interface KindInfo {
  /** Size in bytes on the device (also the element stride of arrays). */
  size: number;
  signed: boolean;
  float: boolean;
  /** Inclusive range of an integer kind (bool: 0..1, ptr: 0..2^32-1). */
  min?: bigint;
  max?: bigint;
  /** Human name used in messages. */
  name: string;
}

const range = (bits: number, signed: boolean) =>
  signed ? { min: -(1n << BigInt(bits - 1)), max: (1n << BigInt(bits - 1)) - 1n } : { min: 0n, max: (1n << BigInt(bits)) - 1n };

export const KINDS: Record<ScalarKind, KindInfo> = {
  i8: { size: 1, signed: true, float: false, ...range(8, true), name: 'int8' },
  u8: { size: 1, signed: false, float: false, ...range(8, false), name: 'uint8' },
  i16: { size: 2, signed: true, float: false, ...range(16, true), name: 'int16' },
  u16: { size: 2, signed: false, float: false, ...range(16, false), name: 'uint16' },
  i32: { size: 4, signed: true, float: false, ...range(32, true), name: 'int32' },
  u32: { size: 4, signed: false, float: false, ...range(32, false), name: 'uint32' },
  i64: { size: 8, signed: true, float: false, ...range(64, true), name: 'int64' },
  u64: { size: 8, signed: false, float: false, ...range(64, false), name: 'uint64' },
  bool: { size: 1, signed: false, float: false, min: 0n, max: 1n, name: 'bool' },
  f32: { size: 4, signed: true, float: true, name: 'float' },
  f64: { size: 8, signed: true, float: true, name: 'double' },
  ptr: { size: 4, signed: false, float: false, ...range(32, false), name: 'pointer' },
};

export interface Pointee {
  /** 'opaque': a struct, union, function or pointer; the host can only pass an address for it. */
  kind: ElementKind | 'void' | 'opaque';
  isConst: boolean;
  /** The pointed-to type as written, e.g. "const float". */
  text: string;
}

export interface CType {
  kind: ScalarKind | 'void' | 'invalid';
  /** The type as written in the source (comments dropped, spacing normalised), e.g. "const float *". */
  text: string;
  /** Spelling for the generated prototype, free of any header (GCC's predefined type macros). */
  cType: string;
  /** For kind 'ptr'. */
  pointee?: Pointee;
  /** Declared length of an array parameter (`float x[16]`), when it is a plain number. */
  arrayLength?: number;
  /** For kind 'invalid': why the type cannot cross the wrapper. */
  problem?: CTypeError;
}

export type TypeProblemCode = 'unknown-type' | 'struct-by-value' | 'unsupported-type';

export class CTypeError extends P4JitError {
  constructor(readonly code: TypeProblemCode, message: string) {
    super(message);
    this.name = 'CTypeError';
  }
}

// ---- resolved types (internal, richer than CType so typedef chains compose) ----

type Resolved = { isConst?: boolean } & (
  | { tag: 'scalar'; kind: ElementKind; cType: string }
  | { tag: 'void' }
  | { tag: 'record'; keyword: string }
  | { tag: 'pointer'; to: Resolved }
  | { tag: 'array'; of: Resolved; length?: number }
  | { tag: 'function' }
  | { tag: 'error'; error: CTypeError }
);

/** Standard typedef names and their kinds on the target (checked against the RISC-V GCC by a test). */
export const STANDARD_TYPEDEFS: Readonly<Record<string, [ElementKind, string]>> = {
  int8_t: ['i8', '__INT8_TYPE__'], uint8_t: ['u8', '__UINT8_TYPE__'],
  int16_t: ['i16', '__INT16_TYPE__'], uint16_t: ['u16', '__UINT16_TYPE__'],
  int32_t: ['i32', '__INT32_TYPE__'], uint32_t: ['u32', '__UINT32_TYPE__'],
  int64_t: ['i64', '__INT64_TYPE__'], uint64_t: ['u64', '__UINT64_TYPE__'],
  int_least8_t: ['i8', '__INT_LEAST8_TYPE__'], uint_least8_t: ['u8', '__UINT_LEAST8_TYPE__'],
  int_least16_t: ['i16', '__INT_LEAST16_TYPE__'], uint_least16_t: ['u16', '__UINT_LEAST16_TYPE__'],
  int_least32_t: ['i32', '__INT_LEAST32_TYPE__'], uint_least32_t: ['u32', '__UINT_LEAST32_TYPE__'],
  int_least64_t: ['i64', '__INT_LEAST64_TYPE__'], uint_least64_t: ['u64', '__UINT_LEAST64_TYPE__'],
  // GCC's RISC-V port makes the 8- and 16-bit "fast" types int-sized.
  int_fast8_t: ['i32', '__INT_FAST8_TYPE__'], uint_fast8_t: ['u32', '__UINT_FAST8_TYPE__'],
  int_fast16_t: ['i32', '__INT_FAST16_TYPE__'], uint_fast16_t: ['u32', '__UINT_FAST16_TYPE__'],
  int_fast32_t: ['i32', '__INT_FAST32_TYPE__'], uint_fast32_t: ['u32', '__UINT_FAST32_TYPE__'],
  int_fast64_t: ['i64', '__INT_FAST64_TYPE__'], uint_fast64_t: ['u64', '__UINT_FAST64_TYPE__'],
  intptr_t: ['i32', '__INTPTR_TYPE__'], uintptr_t: ['u32', '__UINTPTR_TYPE__'],
  intmax_t: ['i64', '__INTMAX_TYPE__'], uintmax_t: ['u64', '__UINTMAX_TYPE__'],
  size_t: ['u32', '__SIZE_TYPE__'], ssize_t: ['i32', 'int'], ptrdiff_t: ['i32', '__PTRDIFF_TYPE__'],
  wchar_t: ['i32', '__WCHAR_TYPE__'], char16_t: ['u16', '__CHAR16_TYPE__'], char32_t: ['u32', '__CHAR32_TYPE__'],
  bool: ['bool', '_Bool'], esp_err_t: ['i32', 'int'],
};

/** Words that may appear among declaration specifiers without changing the type for our purpose. */
const IGNORED_WORDS = new Set([
  'volatile', 'restrict', '__restrict', '__restrict__', 'register', 'auto', 'static', 'extern', 'inline',
  '__inline', '__inline__', '__forceinline', '_Noreturn', 'noreturn', '__extension__', '_Atomic', 'thread_local',
  '_Thread_local', '__thread', 'constexpr', '__volatile__',
]);
const CONST_WORDS = new Set(['const', '__const', '__const__']);
const SKIP_WITH_PARENS = new Set(['__attribute__', '__attribute', '__declspec', '__asm__', '__asm', 'asm', '_Alignas', 'alignas']);
const BASIC_WORDS = new Set(['signed', 'unsigned', 'short', 'long', 'int', 'char', 'float', 'double', 'void', '_Bool',
  '__signed__', '__signed', '_Float32', '_Float64', '__int128', '_Complex', '__complex__', '_Float16', '__fp16', '_Float128', '__float128']);

/** Tokens of a type text; comments are dropped. */
export function tokenize(text: string): string[] {
  const re = /\/\*[\s\S]*?\*\/|\/\/[^\n]*|[A-Za-z_$][\w$]*|\d[\w.]*|\.\.\.|::|\[\[|\]\]|\S/g;
  return (text.match(re) ?? []).filter((t) => !t.startsWith('/*') && !t.startsWith('//'));
}

/** Normalised display text: "const float*" → "const float *", "char * *" → "char **". */
export function normalizeTypeText(text: string): string {
  let out = '';
  let prev = '';
  for (const t of tokenize(text)) {
    const word = /^[\w$]/.test(t);
    const prevWord = /^[\w$]/.test(prev);
    if (out && (word && (prevWord || prev === '*' || prev === ',') || t === '*' && prev !== '*' && prev !== '(' ||
      (t === '[' || t === '(') && (prevWord || prev === '*' && t === '['))) out += ' ';
    out += t;
    prev = t;
  }
  return out;
}

const skipBalanced = (toks: string[], i: number, open: string, close: string): number => {
  let depth = 0;
  for (; i < toks.length; i++) {
    if (toks[i] === open) depth++;
    else if (toks[i] === close && --depth === 0) return i + 1;
  }
  return i;
};

/** Holds the typedefs (and type-like macros) of one translation unit and resolves type text. */
export class TypeScope {
  private readonly typedefs = new Map<string, Resolved>();

  /** Declares `name` as a typedef of the abstract type `text` (e.g. "const float *"). */
  defineTypedef(name: string, text: string): void {
    this.typedefs.set(name, this.resolveOrError(text, `typedef '${name}'`));
  }

  isTypeName(name: string): boolean {
    return this.typedefs.has(name) || name in STANDARD_TYPEDEFS || BASIC_WORDS.has(name);
  }

  /** The type of a parameter written as `text` (an abstract declarator, no name). */
  paramType(text: string): CType {
    return this.toCType(text, 'param');
  }

  /** The return type of a function written as `text`. */
  returnType(text: string): CType {
    return this.toCType(text, 'return');
  }

  private toCType(text: string, role: 'param' | 'return'): CType {
    const shown = normalizeTypeText(text);
    try {
      return describe(this.resolve(text), shown, role);
    } catch (e) {
      if (!(e instanceof CTypeError)) throw e;
      return { kind: 'invalid', text: shown, cType: '', problem: e };
    }
  }

  private resolveOrError(text: string, what: string): Resolved {
    try {
      return this.resolve(text);
    } catch (e) {
      if (!(e instanceof CTypeError)) throw e;
      return { tag: 'error', error: new CTypeError(e.code, `${what}: ${e.message}`) };
    }
  }

  private resolve(text: string): Resolved {
    const toks = tokenize(text);
    const { base, next } = this.specifiers(toks);
    const { build, next: end } = declarator(toks, next);
    if (end < toks.length) throw new CTypeError('unsupported-type', `cannot read type '${normalizeTypeText(text)}' (at '${toks[end]}')`);
    return build(base);
  }

  /** Reads declaration specifiers (type words, qualifiers, attributes, struct tags) into a base type. */
  private specifiers(toks: string[]): { base: Resolved; next: number } {
    const words: string[] = [];
    let named: Resolved | undefined;
    let isConst = false;
    let i = 0;
    while (i < toks.length) {
      const t = toks[i];
      if (CONST_WORDS.has(t)) { isConst = true; i++; continue; }
      if (IGNORED_WORDS.has(t)) { i++; continue; }
      if (SKIP_WITH_PARENS.has(t)) { i = toks[i + 1] === '(' ? skipBalanced(toks, i + 1, '(', ')') : i + 1; continue; }
      if (t === '[[') { i = skipBalanced(toks, i, '[[', ']]'); continue; }
      if (BASIC_WORDS.has(t)) { words.push(t); i++; continue; }
      if (t === 'struct' || t === 'union' || t === 'enum' || t === 'class') {
        let j = i + 1;
        let tag = '';
        if (/^[A-Za-z_]/.test(toks[j] ?? '')) tag = toks[j++];
        if (toks[j] === '{') j = skipBalanced(toks, j, '{', '}');
        named = t === 'enum' ? { tag: 'scalar', kind: 'i32', cType: 'int' } : { tag: 'record', keyword: tag ? `${t} ${tag}` : t };
        i = j;
        continue;
      }
      if (/^[A-Za-z_$]/.test(t) && !named && words.length === 0) {
        named = this.lookup(t);
        i++;
        continue;
      }
      if (/^[A-Za-z_$]/.test(t)) throw new CTypeError('unknown-type', `unknown type name '${t}'`);
      break;
    }
    if (named && words.length) throw new CTypeError('unsupported-type', `cannot combine '${words.join(' ')}' with another type name`);
    const base = named ?? basicType(words);
    return { base: isConst ? { ...base, isConst: true } : base, next: i };
  }

  private lookup(name: string): Resolved {
    const user = this.typedefs.get(name);
    if (user) return user;
    const std = STANDARD_TYPEDEFS[name];
    if (std) return { tag: 'scalar', kind: std[0], cType: std[1] };
    throw new CTypeError('unknown-type',
      `unknown type '${name}' (only standard types and typedefs in the same file are known; headers are not read)`);
  }
}

/** Resolves a combination of basic type words (`unsigned long long int`). */
function basicType(words: string[]): Resolved {
  const count = (w: string) => words.filter((x) => x === w).length;
  const has = (w: string) => words.includes(w);
  const key = words.filter((w) => w !== 'int' && w !== 'signed' && w !== '__signed__' && w !== '__signed' && w !== 'unsigned').join(' ');
  const unsigned = has('unsigned');
  const signed = has('signed') || has('__signed__') || has('__signed');
  const shown = words.join(' ');
  if (unsigned && signed) throw new CTypeError('unsupported-type', `'${shown}' is both signed and unsigned`);
  const int = (kind: ElementKind, cType: string): Resolved => ({ tag: 'scalar', kind, cType });
  const notWithInt = (kind: ElementKind, cType: string): Resolved => {
    if (has('int') || unsigned || signed) throw new CTypeError('unsupported-type', `invalid type '${shown}'`);
    return int(kind, cType);
  };
  if (words.length === 0) throw new CTypeError('unsupported-type', 'missing type');
  if (count('int') > 1) throw new CTypeError('unsupported-type', `invalid type '${shown}'`);
  switch (key) {
    case 'char':
      if (has('int')) break;
      // Plain char is unsigned on RISC-V.
      return signed ? int('i8', 'signed char') : unsigned ? int('u8', 'unsigned char') : int('u8', 'char');
    case 'short': return unsigned ? int('u16', 'unsigned short') : int('i16', 'short');
    case '': return unsigned ? int('u32', 'unsigned int') : int('i32', 'int');
    case 'long': return unsigned ? int('u32', 'unsigned long') : int('i32', 'long');
    case 'long long': return unsigned ? int('u64', 'unsigned long long') : int('i64', 'long long');
    case 'float': case '_Float32': return notWithInt('f32', 'float');
    case 'double': case '_Float64': return notWithInt('f64', 'double');
    case '_Bool': return notWithInt('bool', '_Bool');
    case 'void': if (!has('int') && !unsigned && !signed) return { tag: 'void' }; break;
    case 'long double':
      throw new CTypeError('unsupported-type', "'long double' is a 128-bit type on RV32 and cannot be passed through an argument slot");
    default:
      if (/_Complex|__complex__|__int128|_Float16|__fp16|_Float128|__float128/.test(key)) {
        throw new CTypeError('unsupported-type', `'${shown}' is not supported by the typed call (use an 8-64 bit integer, float, double, bool or a pointer)`);
      }
  }
  throw new CTypeError('unsupported-type', `invalid type '${shown}'`);
}

type Builder = (base: Resolved) => Resolved;

/**
 * Reads an abstract declarator (`*`, `* const`, `[16]`, `(*)(float)`, ...) starting at `i`.
 * Returns a function that wraps a base type the way C does: the operator nearest the (absent) name
 * is the outermost.
 */
function declarator(toks: string[], i: number): { build: Builder; next: number } {
  if (toks[i] === '*') {
    let j = i + 1;
    while (CONST_WORDS.has(toks[j]) || IGNORED_WORDS.has(toks[j]) || SKIP_WITH_PARENS.has(toks[j])) {
      j = SKIP_WITH_PARENS.has(toks[j]) && toks[j + 1] === '(' ? skipBalanced(toks, j + 1, '(', ')') : j + 1;
    }
    const inner = declarator(toks, j);
    return { build: (base) => inner.build({ tag: 'pointer', to: base }), next: inner.next };
  }
  let inner: Builder = (t) => t;
  // A parenthesis right here is a grouping like `(*)` unless it is a parameter list `(int)`.
  if (toks[i] === '(' && ['*', '(', '['].includes(toks[i + 1])) {
    const group = declarator(toks, i + 1);
    if (toks[group.next] !== ')') throw new CTypeError('unsupported-type', `cannot read declarator near '${toks[group.next] ?? 'end'}'`);
    inner = group.build;
    i = group.next + 1;
  }
  const suffixes: Builder[] = [];
  while (toks[i] === '[' || toks[i] === '(') {
    if (toks[i] === '[') {
      const close = skipBalanced(toks, i, '[', ']');
      const sizeToks = toks.slice(i + 1, close - 1).filter((t) => t !== 'static' && !CONST_WORDS.has(t) && !IGNORED_WORDS.has(t));
      const length = sizeToks.length === 1 ? parseIntLiteral(sizeToks[0]) : undefined;
      suffixes.push((base) => ({ tag: 'array', of: base, length }));
      i = close;
    } else {
      i = skipBalanced(toks, i, '(', ')');
      suffixes.push(() => ({ tag: 'function' }));
    }
  }
  return {
    build: (base) => inner(suffixes.reduceRight((t, wrap) => wrap(t), base)),
    next: i,
  };
}

function parseIntLiteral(tok: string): number | undefined {
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)[uUlL]*$/.exec(tok);
  if (!m) return undefined;
  const s = m[1];
  const n = /^0[0-7]+$/.test(s) ? parseInt(s, 8) : Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Turns a resolved type into the public model, applying parameter decay and by-value rules. */
function describe(t: Resolved, text: string, role: 'param' | 'return'): CType {
  if (t.tag === 'error') throw t.error;
  if (role === 'param' && t.tag === 'array') return pointerType(t.of, text, t.length);
  if (role === 'param' && t.tag === 'function') return { kind: 'ptr', text, cType: 'void *', pointee: { kind: 'opaque', isConst: false, text: 'function' } };
  switch (t.tag) {
    case 'scalar': return { kind: t.kind, text, cType: t.cType };
    case 'void': return { kind: 'void', text, cType: 'void' };
    case 'pointer': return pointerType(t.to, text);
    case 'record':
      throw new CTypeError('struct-by-value',
        `'${text}' is a ${t.keyword.split(' ')[0]} passed by value; pass a pointer to it instead`);
    case 'array': throw new CTypeError('unsupported-type', `a function cannot return an array ('${text}')`);
    case 'function': throw new CTypeError('unsupported-type', `a function cannot return a function ('${text}')`);
  }
}

function pointerType(to: Resolved, text: string, arrayLength?: number): CType {
  if (to.tag === 'error') throw to.error;
  const isConst = !!to.isConst;
  const c = isConst ? 'const ' : '';
  const pointeeText = pointeeSpelling(text);
  const base = { kind: 'ptr' as const, text, ...(arrayLength !== undefined ? { arrayLength } : {}) };
  if (to.tag === 'scalar') return { ...base, cType: `${c}${to.cType} *`, pointee: { kind: to.kind, isConst, text: pointeeText } };
  if (to.tag === 'void') return { ...base, cType: `${c}void *`, pointee: { kind: 'void', isConst, text: pointeeText } };
  // Struct, union, function and pointer targets are passed as raw addresses; `void *` keeps the
  // wrapper free of the user's type declarations and has the same calling convention.
  return { ...base, cType: `${c}void *`, pointee: { kind: 'opaque', isConst, text: pointeeText } };
}

/** "const float *" → "const float"; "float [16]" → "float". */
function pointeeSpelling(text: string): string {
  return text.replace(/\s*(\*\s*(const\s*)?|\[[^\]]*\])$/, '').trim() || text;
}
