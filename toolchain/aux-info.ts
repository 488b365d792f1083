/**
 * The compiler's own view of a function's signature: GCC's -aux-info file lists every function
 * the translation unit declares or defines, as prototypes written after preprocessing — with the
 * build's -D/-I flags, macros expanded, #if branches decided. It comes with the compile at no
 * extra cost, and is what the signature read from the source is checked against.
 */
import { resolve } from 'node:path';

import type { CType } from './ctypes.js';
import { parseFunctions, SignatureError, type FunctionSignature } from './signature.js';

export interface AuxEntry {
  file: string;
  line: number;
  /** K&R definition (GCC writes it as a prototype). */
  oldStyle: boolean;
  defined: boolean;
  /** The prototype, e.g. `extern void inc (double *a, int n)`. */
  declaration: string;
}

const LINE = /^\/\* (.*):(\d+):([NO])([CF]) \*\/ (.*?); \/\*.*\*\/$/;

export function parseAuxInfo(text: string): AuxEntry[] {
  const entries: AuxEntry[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m) entries.push({ file: m[1], line: Number(m[2]), oldStyle: m[3] === 'O', defined: m[4] === 'F', declaration: m[5] });
  }
  return entries;
}

/** The definition of `name` in `file` (an absolute path) as the compiler saw it. */
export function auxDefinition(entries: AuxEntry[], file: string, name: string): AuxEntry | undefined {
  const named = new RegExp(`(^|[\\s*(])${name} \\(`);
  return entries.find((e) => e.defined && named.test(e.declaration) && resolve(e.file) === file);
}

/**
 * The signature the compiler saw, types resolved with the typedefs of the source (parsed with the
 * prototype appended as an empty definition). Lines come from the source's own definition when
 * the source shows it, else from the line the compiler reports (a macro's invocation).
 */
export async function signatureFromAux(entry: AuxEntry, source: string, file: string, options: { maxSlots?: number } = {}): Promise<FunctionSignature> {
  const lines = source.split('\n').length;
  const all = await parseFunctions(`${source}\n;\n${entry.declaration.replace(/^extern\s+/, '')} {}\n`, file, options);
  const sig = all.find((f) => f.startLine > lines);
  if (!sig) throw new SignatureError('parse-error', `cannot read the compiler's prototype ${entry.declaration}`, file, entry.line);
  const own = all.find((f) => f.name === sig.name && f.startLine <= entry.line && entry.line <= f.endLine);
  const out: FunctionSignature = {
    ...sig,
    startLine: own?.startLine ?? entry.line,
    endLine: own?.endLine ?? entry.line,
    isInline: own?.isInline ?? false,
    problem: sig.problem && new SignatureError(sig.problem.code, sig.problem.reason, file, own?.startLine ?? entry.line),
  };
  if (entry.oldStyle) {
    out.problem = new SignatureError('knr', `'${sig.name}' uses an old-style (K&R) definition; write a prototype-style parameter list`, file, out.startLine);
  }
  return out;
}

const typeKey = (t: CType) => `${t.kind}/${t.pointee ? `${t.pointee.kind}/${t.pointee.isConst}` : ''}`;

/** Whether two signatures pass the same values the same way (names and spelling aside). */
export function sameCall(a: FunctionSignature, b: FunctionSignature): boolean {
  return a.isVariadic === b.isVariadic && a.params.length === b.params.length &&
    typeKey(a.returnType) === typeKey(b.returnType) && a.params.every((p, i) => typeKey(p.type) === typeKey(b.params[i].type));
}
