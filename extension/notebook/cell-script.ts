/**
 * Turns a JavaScript or TypeScript notebook cell into code the kernel can run, as Jupyter users
 * expect: top-level `await`, names declared in one cell visible in the next, and the value of the
 * last expression shown. TypeScript types are stripped by `sucrase`; the cell is parsed by `acorn`
 * (both made for exactly this), and only its top-level statements are rewritten:
 *   const a = 1, b = 2;      →  a = 1, b = 2;          (a global of the notebook's context)
 *   function f() {}          →  f = function f() {};
 *   class C {}               →  C = class C {};
 *   x * 2                    →  return (x * 2);         (the last statement, when an expression)
 * and the whole runs as the body of an async function in the notebook's context.
 */
import { parse, type Node, type Program } from 'acorn';
import { transform } from 'sucrase';

export class CellSyntaxError extends Error {
  override name = 'SyntaxError';
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** The body of an async function for `source` (a 'javascript' or 'typescript' cell). */
export function cellScript(source: string, language: string): string {
  const js = language === 'typescript' ? stripTypes(source) : source;
  let program: Program;
  try {
    program = parse(js, { ecmaVersion: 'latest', sourceType: 'script', allowAwaitOutsideFunction: true, allowReturnOutsideFunction: true, locations: true });
  } catch (e) {
    throw new CellSyntaxError(`${(e as Error).message.replace(/\s*\((\d+):(\d+)\)$/, '')} (line ${(e as { loc?: { line: number } }).loc?.line ?? '?'})`);
  }
  const edits: Edit[] = [];
  for (const node of program.body) edits.push(...rewrite(node, js));
  const last = program.body.at(-1);
  if (last?.type === 'ExpressionStatement') {
    const expr = (last as unknown as { expression: Node }).expression;
    edits.push({ start: expr.start, end: expr.start, text: 'return (' }, { start: expr.end, end: expr.end, text: ')' });
  }
  return apply(js, edits);
}

function stripTypes(source: string): string {
  try {
    return transform(source, { transforms: ['typescript'], disableESTransforms: true }).code;
  } catch (e) {
    throw new CellSyntaxError((e as Error).message);
  }
}

function rewrite(node: Node, js: string): Edit[] {
  switch (node.type) {
    case 'VariableDeclaration': {
      const decl = node as unknown as { kind: string; declarations: { id: Node; init: Node | null; start: number; end: number }[] };
      // `const x = 1, y` → `x = 1, y = undefined`; a destructuring pattern is wrapped in parentheses
      const parts = decl.declarations.map((d) => {
        const target = js.slice(d.id.start, d.id.end);
        const value = d.init ? js.slice(d.init.start, d.init.end) : 'undefined';
        return d.id.type === 'Identifier' ? `${target} = ${value}` : `(${target} = ${value})`;
      });
      const semicolon = js[node.end - 1] === ';' ? ';' : '';
      return [{ start: node.start, end: node.end, text: `${parts.join(', ')}${semicolon}` }];
    }
    case 'FunctionDeclaration':
    case 'ClassDeclaration': {
      const id = (node as unknown as { id: Node | null }).id;
      if (!id) return [];
      const name = js.slice(id.start, id.end);
      return [{ start: node.start, end: node.start, text: `${name} = ` }, { start: node.end, end: node.end, text: ';' }];
    }
    case 'ImportDeclaration':
      throw new CellSyntaxError(`a cell cannot use 'import … from' (line ${node.loc?.start.line}): use const m = await import('…')`);
    default:
      return [];
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
