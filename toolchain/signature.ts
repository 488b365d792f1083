// Finds C function definitions and their exact signatures with a real C parser (tree-sitter), so
// the generated wrapper can call the function with correctly typed arguments.
//
// The parser does not run the C preprocessor, so the source first gets a light pre-pass
// (signature-prepass.ts).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { TypeScope, type CType } from './ctypes.js';
import { blankStrayMacros, expandMacros, resolveKnownConditionals } from './signature-prepass.js';
import { P4JitError } from '../extension/util/errors.js';

/** Argument slots CALL accepts (JIT_MAX_ARGS in the firmware, INFO max_args). One slot per parameter. */
export const MAX_ARG_SLOTS = 32;

export interface Param {
  /** The parameter's name, or `argN` when the definition leaves it unnamed. */
  name: string;
  type: CType;
}

export interface FunctionSignature {
  name: string;
  returnType: CType;
  params: Param[];
  file?: string;
  /** 1-based lines of the whole definition (specifiers through closing brace). */
  startLine: number;
  endLine: number;
  isStatic: boolean;
  isInline: boolean;
  /** Declared with an explicit `extern` (matters for `extern inline`). */
  isExtern: boolean;
  isVariadic: boolean;
  /** Has C linkage in a C++ file (always true in C). */
  isExternC: boolean;
  language: 'c' | 'c++';
  /** Set when the function cannot be called through the wrapper, with the reason. */
  problem?: SignatureError;
}

export type SignatureProblemCode =
  | 'not-found' | 'declared-only' | 'no-function-at-line' | 'ambiguous' | 'parse-error' | 'knr' | 'variadic'
  | 'static-cxx' | 'not-extern-c' | 'unknown-type' | 'struct-by-value' | 'unsupported-type' | 'too-many-params';

export class SignatureError extends P4JitError {
  /** The message without the location prefix (for diagnostics that show the location themselves). */
  readonly reason: string;
  constructor(readonly code: SignatureProblemCode, message: string, readonly file?: string, readonly line?: number) {
    super(file && line ? `${file}:${line}: ${message}` : line ? `line ${line}: ${message}` : message);
    this.reason = message;
    this.name = 'SignatureError';
  }
}

export interface ParseOptions {
  /** Default: from the file name (.cpp/.cc/.cxx/... → C++), else C. */
  language?: 'c' | 'c++';
  /** Default MAX_ARG_SLOTS; pass the device's INFO max_args when known. */
  maxSlots?: number;
}

// ---------------------------------------------------------------- parser setup

let parserPromise: Promise<Parser> | undefined;
let wasmPaths: { runtime?: string; language?: string } = {};

/**
 * Where the two WebAssembly files live when they are not in node_modules (e.g. a bundled
 * extension): web-tree-sitter's runtime `web-tree-sitter.wasm` and the `tree-sitter-c.wasm` grammar.
 */
export function setParserWasmPaths(paths: { runtime?: string; language?: string }): void {
  wasmPaths = paths;
  parserPromise = undefined;
}

function getParser(): Promise<Parser> {
  parserPromise ??= (async () => {
    const runtime = wasmPaths.runtime;
    await Parser.init(runtime ? { locateFile: () => runtime } : undefined);
    const languageWasm = wasmPaths.language ??
      join(dirname(createRequire(import.meta.url).resolve('tree-sitter-c/package.json')), 'tree-sitter-c.wasm');
    const parser = new Parser();
    parser.setLanguage(await Language.load(languageWasm));
    return parser;
  })();
  return parserPromise;
}

// ---------------------------------------------------------------- tree walking

interface Found { node: Node; externC: boolean; inError: boolean }
interface Collected {
  definitions: Found[];
  declarations: Found[];
  typedefs: Node[];
}

function collect(node: Node, externC: boolean, into: Collected, inError = false): void {
  for (const child of node.namedChildren) {
    if (!child) continue;
    switch (child.type) {
      case 'function_definition': into.definitions.push({ node: child, externC, inError }); break;
      case 'declaration': into.declarations.push({ node: child, externC, inError }); break;
      case 'type_definition': into.typedefs.push(child); break;
      case 'linkage_specification': {
        const isC = child.childForFieldName('value')?.text === '"C"';
        const body = child.childForFieldName('body');
        if (!body) break;
        if (body.type === 'declaration_list') collect(body, isC, into, inError);
        else if (body.type === 'function_definition') into.definitions.push({ node: body, externC: isC, inError });
        else if (body.type === 'declaration') into.declarations.push({ node: body, externC: isC, inError });
        break;
      }
      case 'preproc_if': case 'preproc_ifdef': case 'preproc_else': case 'preproc_elif': case 'preproc_elifdef':
      case 'ERROR': case 'declaration_list':
        collect(child, externC, into, inError || child.type === 'ERROR');
        break;
    }
  }
}

const isDeclaratorType = (t: string) => t.endsWith('declarator') || t === 'identifier' || t === 'type_identifier';

/** The declarator one level further in (`*p` → `p`, `(f)` → `f`, `a[3]` → `a`). */
function innerDeclarator(node: Node): Node | null {
  return node.childForFieldName('declarator') ?? node.namedChildren.find((c) => c && isDeclaratorType(c.type)) ?? null;
}

/** The innermost name of a declarator, if it has one. */
function declaratorName(node: Node | null): Node | null {
  for (let cur = node; cur; cur = innerDeclarator(cur)) {
    if (cur.type === 'identifier' || cur.type === 'type_identifier') return cur;
  }
  return null;
}

/** The function_declarator that names the function (`f` in `int (*f(int))(int)`). */
function namingFunctionDeclarator(node: Node | null): Node | null {
  for (let cur = node; cur; cur = innerDeclarator(cur)) {
    if (cur.type === 'function_declarator') {
      let inner = cur.childForFieldName('declarator');
      while (inner?.type === 'parenthesized_declarator') inner = innerDeclarator(inner);
      if (inner?.type === 'identifier') return cur;
    }
  }
  return null;
}

/** The declaration specifiers of a node as text (everything but declarators, bodies and comments). */
function specifierText(node: Node): string {
  const parts: string[] = [];
  node.children.forEach((child, i) => {
    if (!child) return;
    const field = node.fieldNameForChild(i);
    if (field === 'declarator' || field === 'body' || child.type === 'comment' || child.type === 'declaration') return;
    // Storage classes and attributes are not part of the type.
    if (['typedef', ';', ',', 'compound_statement', 'storage_class_specifier', 'attribute_specifier',
      'attribute_declaration', 'ms_declspec_modifier', 'ms_call_modifier'].includes(child.type)) return;
    parts.push(child.text);
  });
  return parts.join(' ');
}

/** `outer`'s text with `inner` cut out: the abstract declarator left when the name is removed. */
function cutOut(outer: Node | null, inner: Node | null): string {
  if (!outer) return '';
  if (!inner) return outer.text;
  const a = inner.startIndex - outer.startIndex;
  return outer.text.slice(0, a) + ' ' + outer.text.slice(a + inner.endIndex - inner.startIndex);
}

const lineOf = (n: Node) => n.startPosition.row + 1;

// ---------------------------------------------------------------- public API

function languageOf(file: string | undefined, options: ParseOptions): 'c' | 'c++' {
  return options.language ?? (file && /\.(cpp|cc|cxx|c\+\+|C|hpp|hh|hxx)$/.test(file) ? 'c++' : 'c');
}

/** Every function definition in `source`, each with its signature or the reason it cannot be called. */
export async function parseFunctions(source: string, file?: string, options: ParseOptions = {}): Promise<FunctionSignature[]> {
  return (await analyse(source, file, options)).functions;
}

interface Analysis {
  functions: FunctionSignature[];
  /** Functions declared (prototypes), by name → first line. */
  declared: Map<string, number>;
}

async function analyse(source: string, file: string | undefined, options: ParseOptions): Promise<Analysis> {
  const language = languageOf(file, options);
  const maxSlots = options.maxSlots ?? MAX_ARG_SLOTS;
  const lines = source.split('\n');
  resolveKnownConditionals(lines, language === 'c++');
  expandMacros(lines);
  let text = lines.join('\n');
  const parser = await getParser();

  let tree = parser.parse(text)!;
  let found = collectAll(tree.rootNode);
  // Stray macros break a head; blank them and parse again until nothing more changes.
  for (let round = 0; round < 4; round++) {
    const broken = [...found.definitions, ...found.declarations]
      .filter(({ node, inError }) => inError || node.hasError)
      .map(({ node }) => [node.startIndex, node.childForFieldName('body')?.startIndex ?? node.endIndex] as [number, number]);
    for (const err of errorNodes(tree.rootNode)) broken.push([err.startIndex, err.endIndex]);
    const next = blankStrayMacros(text, broken, found.scope);
    if (!next) break;
    tree.delete();
    text = next;
    tree = parser.parse(text)!;
    found = collectAll(tree.rootNode);
  }

  const cExternNames = new Set(found.declarations.filter((d) => d.externC)
    .flatMap(({ node }) => node.childrenForFieldName('declarator').map((d) => namingFunctionDeclarator(d)?.childForFieldName('declarator')?.text)));
  const functions = found.definitions.map(({ node, externC }) =>
    describeDefinition(node, externC || cExternNames.has(functionName(node) ?? ''), found.scope, { file, language, maxSlots }))
    .filter((s): s is FunctionSignature => s !== undefined);
  const declared = new Map<string, number>();
  for (const { node } of found.declarations) {
    for (const d of node.childrenForFieldName('declarator')) {
      const fname = namingFunctionDeclarator(d)?.childForFieldName('declarator')?.text.replace(/[()\s]/g, '');
      if (fname && !declared.has(fname)) declared.set(fname, lineOf(node));
    }
  }
  tree.delete();
  return { functions, declared };
}

function collectAll(root: Node): Collected & { scope: TypeScope } {
  const into: Collected = { definitions: [], declarations: [], typedefs: [] };
  collect(root, false, into);
  const scope = new TypeScope();
  for (const td of into.typedefs) {
    for (const d of td.childrenForFieldName('declarator')) {
      const name = declaratorName(d);
      if (name) scope.defineTypedef(name.text, `${specifierText(td)} ${cutOut(d, name)}`);
    }
  }
  return { ...into, scope };
}

function errorNodes(root: Node): Node[] {
  return root.namedChildren.filter((c): c is Node => !!c && (c.type === 'ERROR' || c.type === 'declaration' && c.hasError));
}

function functionName(node: Node): string | undefined {
  return namingFunctionDeclarator(node.childForFieldName('declarator'))?.childForFieldName('declarator')?.text.replace(/[()\s]/g, '');
}

function describeDefinition(node: Node, externC: boolean, scope: TypeScope,
  ctx: { file?: string; language: 'c' | 'c++'; maxSlots: number }): FunctionSignature | undefined {
  const declarator = node.childForFieldName('declarator');
  const fdecl = namingFunctionDeclarator(declarator);
  if (!fdecl) return undefined; // e.g. a misparsed C++ construct: not a function we can name
  const name = fdecl.childForFieldName('declarator')!.text.replace(/[()\s]/g, '');
  const storage = node.children.filter((c) => c?.type === 'storage_class_specifier').map((c) => c!.text);
  const paramList = fdecl.childForFieldName('parameters');
  const paramNodes = paramList?.namedChildren.filter((c): c is Node => !!c && c.type !== 'comment') ?? [];
  const sig: FunctionSignature = {
    name,
    returnType: scope.returnType(`${specifierText(node)} ${cutOut(declarator, fdecl)}`),
    params: [],
    file: ctx.file,
    startLine: lineOf(node),
    endLine: node.endPosition.row + 1,
    isStatic: storage.includes('static'),
    isInline: storage.some((s) => /inline/.test(s)),
    isExtern: storage.includes('extern'),
    isVariadic: paramNodes.some((p) => p.type === 'variadic_parameter'),
    isExternC: ctx.language === 'c' || externC,
    language: ctx.language,
  };
  const fail = (code: SignatureProblemCode, message: string) => {
    sig.problem ??= new SignatureError(code, message, ctx.file, sig.startLine);
  };

  const headEnd = node.childForFieldName('body')?.startIndex ?? node.endIndex;
  const headError = findError(node, headEnd);
  if (headError) {
    const near = headError.text.trim().split(/\s+/)[0] || headError.type;
    fail('parse-error', `cannot parse the definition of '${name}' near '${near}' ` +
      '(macros from headers are not expanded: define it in the file or remove it)');
  }
  if (paramNodes.some((p) => p.type === 'identifier') || node.namedChildren.some((c) => c?.type === 'declaration')) {
    fail('knr', `'${name}' uses an old-style (K&R) definition; write a prototype-style parameter list, e.g. 'int ${name}(int a, int b)'`);
  }
  if (sig.isVariadic) fail('variadic', `'${name}' is variadic (...); the wrapper can only call functions with a fixed parameter list`);
  if (ctx.language === 'c++' && (sig.isStatic || sig.isInline)) {
    const what = sig.isStatic ? 'static' : 'inline';
    fail('static-cxx', `'${name}' is ${what} in a C++ file; remove '${what}' and declare it extern "C" to call it`);
  } else if (!sig.isExternC) {
    fail('not-extern-c', `'${name}' has C++ linkage; declare it extern "C" so the wrapper can call it by its C name`);
  }

  paramNodes.forEach((p, i) => {
    if (p.type !== 'parameter_declaration') return;
    const decl = p.childForFieldName('declarator');
    const pname = declaratorName(decl);
    const type = scope.paramType(`${specifierText(p)} ${cutOut(decl, pname)}`);
    sig.params.push({ name: pname?.text ?? `arg${i}`, type });
  });
  // `f(void)` declares no parameters.
  if (sig.params.length === 1 && sig.params[0].type.kind === 'void' && !/\w/.test(sig.params[0].type.text.replace('void', ''))) {
    sig.params = [];
  }
  const retProblem = sig.returnType.problem;
  if (retProblem) fail(retProblem.code, `return type of '${name}': ${retProblem.message}`);
  for (const p of sig.params) {
    if (p.type.problem) fail(p.type.problem.code, `parameter '${p.name}' of '${name}': ${p.type.problem.message}`);
    else if (p.type.kind === 'void') fail('unsupported-type', `parameter '${p.name}' of '${name}' has type void`);
  }
  if (sig.params.length > ctx.maxSlots) {
    fail('too-many-params', `'${name}' has ${sig.params.length} parameters; a call passes at most ${ctx.maxSlots} (one argument slot each)`);
  }
  return sig;
}

/** The first syntax error (or missing token) in `node` before index `end`. */
function findError(node: Node, end: number): Node | undefined {
  if (node.startIndex >= end) return undefined;
  if (node.isError || node.isMissing) return node;
  if (!node.hasError) return undefined;
  for (const c of node.children) {
    const e = c && findError(c, end);
    if (e) return e;
  }
  return undefined;
}

/** The definition of `name`, with a complete signature; throws SignatureError when it cannot be called. */
export async function findFunction(source: string, name: string, file?: string, options: ParseOptions = {}): Promise<FunctionSignature> {
  const { functions: all, declared } = await analyse(source, file, options);
  const matches = all.filter((f) => f.name === name);
  if (matches.length === 0) {
    const declaredAt = declared.get(name);
    if (declaredAt) {
      throw new SignatureError('declared-only', `'${name}' is only declared here; its definition is not in this file`, file, declaredAt);
    }
    const near = all.filter((f) => f.name.toLowerCase() === name.toLowerCase() || editDistance(f.name, name) <= 2);
    const hint = near.length ? ` Did you mean ${near.map((f) => `'${f.name}'`).join(' or ')}?` :
      all.length ? ` Functions defined here: ${all.map((f) => f.name).join(', ')}.` : ' The file defines no functions.';
    throw new SignatureError('not-found', `no definition of function '${name}'.${hint}`, file);
  }
  const first = matches[0];
  const typesOf = (f: FunctionSignature) => [f.returnType, ...f.params.map((p) => p.type)].map((t) => t.cType || t.text).join();
  const differs = matches.find((m) => typesOf(m) !== typesOf(first));
  if (differs) {
    throw new SignatureError('ambiguous', `'${name}' is defined more than once with different signatures (lines ${
      matches.map((m) => m.startLine).join(', ')}), probably in #if branches that cannot be evaluated without the build's macros`, file, first.startLine);
  }
  if (first.problem) throw first.problem;
  return first;
}

/** The function whose definition contains `line` (1-based), e.g. the one the cursor is in. */
export async function functionAt(source: string, line: number, file?: string, options: ParseOptions = {}): Promise<FunctionSignature> {
  const all = await parseFunctions(source, file, options);
  const hit = all.find((f) => f.startLine <= line && line <= f.endLine);
  if (!hit) {
    throw new SignatureError('no-function-at-line', `line ${line} is not inside a function definition${
      all.length ? ` (functions here: ${all.map((f) => `${f.name} at ${f.startLine}-${f.endLine}`).join(', ')})` : ''}`, file);
  }
  if (hit.problem) throw hit.problem;
  return hit;
}

/** `float scale(float *x, int n)` — the signature as C, with the types as written. */
export function formatSignature(sig: Pick<FunctionSignature, 'name' | 'returnType' | 'params' | 'isVariadic'>): string {
  const params = sig.params.map((p) => withName(p.type.text, p.name));
  if (sig.isVariadic) params.push('...');
  return withName(sig.returnType.text, `${sig.name}(${params.join(', ') || 'void'})`, true);
}

/** Puts a name into an abstract declarator: "float *" + "x" → "float *x", "float [16]" + "x" → "float x[16]". */
function withName(typeText: string, name: string, isFunction = false): string {
  const arr = /^(.*?)\s*(\[.*\])$/.exec(typeText);
  if (arr && !isFunction) return `${arr[1]} ${name}${arr[2]}`;
  const grouped = /^(.*\(\s*\*+)(\)\s*\(.*\))$/.exec(typeText);
  if (grouped) return `${grouped[1]}${name}${grouped[2]}`;
  return typeText.endsWith('*') ? `${typeText}${name}` : `${typeText} ${name}`;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}
