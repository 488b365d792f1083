/**
 * Turns a JavaScript or TypeScript notebook cell into the body of an async function the kernel can
 * call, as Jupyter users expect: top-level `await`, names declared in one cell visible in the next,
 * and the value of the last expression shown. TypeScript types are stripped by `sucrase`; the cell
 * is parsed by `acorn` (both made for exactly this) to find its top-level names and last expression.
 *
 * The notebook's names so far are the function's parameters, and the cell's own declarations are
 * locals of the function, so a loop over them runs at full speed. A reader closure, registered
 * first, lets the kernel collect every top-level name once the cell ends (even by an error; a name
 * not reached yet keeps its old value). Code runs in strict mode: a typo'd assignment is an error,
 * never a global of the editor's process.
 */
import { parse, type Node, type Program } from 'acorn';
import { transform } from 'sucrase';
import { P4JitError } from '../util/errors.js';

export class CellSyntaxError extends P4JitError {
  override name = 'SyntaxError';
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** Name of the parameter that receives the cell's reader of its names. */
export const SCOPE_READER = '__p4jitScope';

/**
 * The body of an async function for `source` (a 'javascript' or 'typescript' cell); `known` are the
 * notebook's names so far (the function's parameters, read back too: `x = 5` persists).
 */
export function cellScript(source: string, language: string, known: readonly string[] = []): string {
  const js = language === 'typescript' ? stripTypes(source) : source;
  let program: Program;
  try {
    program = parse(js, { ecmaVersion: 'latest', sourceType: 'script', allowAwaitOutsideFunction: true, allowReturnOutsideFunction: true, locations: true });
  } catch (e) {
    if (/'import' and 'export' may appear only/.test((e as Error).message)) {
      throw new CellSyntaxError(`a cell cannot use 'import … from' or 'export' (line ${(e as { loc?: { line: number } }).loc?.line}): use const m = await import('…')`);
    }
    throw new CellSyntaxError(`${(e as Error).message.replace(/\s*\((\d+):(\d+)\)$/, '')} (line ${(e as { loc?: { line: number } }).loc?.line ?? '?'})`);
  }
  const names = new Set<string>(known);
  for (const node of program.body) declaredNames(node, names);
  const edits: Edit[] = [];
  const last = program.body.at(-1);
  if (last?.type === 'ExpressionStatement') {
    const expr = (last as unknown as { expression: Node }).expression;
    edits.push({ start: expr.start, end: expr.start, text: 'return (' }, { start: expr.end, end: expr.end, text: ')' });
  }
  const reads = [...names].map((n) => `try { o[${JSON.stringify(n)}] = ${n}; } catch {}`).join(' ');
  // one line before the cell's first: the kernel subtracts it from error line numbers
  return `"use strict"; ${SCOPE_READER}(() => { const o = {}; ${reads} return o; });\n${apply(js, edits)}`;
}

function stripTypes(source: string): string {
  try {
    return transform(source, { transforms: ['typescript'], disableESTransforms: true }).code;
  } catch (e) {
    throw new CellSyntaxError((e as Error).message);
  }
}

function declaredNames(node: Node, names: Set<string>): void {
  switch (node.type) {
    case 'VariableDeclaration':
      for (const d of (node as unknown as { declarations: { id: Node }[] }).declarations) patternNames(d.id, names);
      return;
    case 'FunctionDeclaration':
    case 'ClassDeclaration':
      names.add((node as unknown as { id: { name: string } }).id.name);
      return;
  }
}

/** The names a declaration binds: `a`, `{ b, c: d }`, `[e, ...f]`, `g = 1`. */
function patternNames(node: Node | null, names: Set<string>): void {
  if (!node) return;
  const n = node as unknown as Record<string, unknown> & { type: string };
  switch (n.type) {
    case 'Identifier': names.add(n.name as string); break;
    case 'ObjectPattern': for (const p of n.properties as Node[]) patternNames((p as unknown as { value?: Node; argument?: Node }).value ?? (p as unknown as { argument: Node }).argument, names); break;
    case 'ArrayPattern': for (const e of n.elements as (Node | null)[]) patternNames(e, names); break;
    case 'RestElement': patternNames(n.argument as Node, names); break;
    case 'AssignmentPattern': patternNames(n.left as Node, names); break;
  }
}

function apply(js: string, edits: Edit[]): string {
  let out = '';
  let at = 0;
  for (const e of [...edits].sort((a, b) => a.start - b.start || a.end - b.end)) {
    out += js.slice(at, e.start) + e.text;
    at = e.end;
  }
  return out + js.slice(at);
}
