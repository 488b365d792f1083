// The light, line-preserving pre-pass a C file gets before tree-sitter parses it (the parser runs
// no preprocessor, and headers may not even be available): `#if 0` / `#ifdef __cplusplus`
// branches are resolved, object-like macros defined in the file are expanded, and attribute macros
// from headers (IRAM_ATTR and the like) are blanked out where they break a declaration. Every
// replacement keeps the text's line breaks, so line numbers never move.
import type { TypeScope } from './ctypes.js';

/** Replaces every character but newlines with a space, so line numbers never move. */
const blank = (s: string) => s.replace(/[^\n]/g, ' ');
const DIRECTIVE = /^\s*#\s*(\w+)(.*)$/;

/** Attribute-like macros from ESP-IDF and libc headers, removed wherever they appear. */
const HEADER_ATTRIBUTE_MACROS = ['IRAM_ATTR', 'DRAM_ATTR', 'RTC_IRAM_ATTR', 'RTC_DATA_ATTR', 'RTC_FAST_ATTR',
  'RTC_SLOW_ATTR', 'RTC_RODATA_ATTR', 'RTC_NOINIT_ATTR', 'EXT_RAM_BSS_ATTR', 'EXT_RAM_NOINIT_ATTR',
  'NOINLINE_ATTR', 'FORCE_INLINE_ATTR', 'WORD_ALIGNED_ATTR', 'TCM_IRAM_ATTR', 'TCM_DRAM_ATTR', 'IRAM_DATA_ATTR',
  'IRAM_BSS_ATTR', 'COREDUMP_DRAM_ATTR', '__always_inline', '__noinline', '__unused', '__used', '__weak',
  '__packed', '__pure'];

/** Evaluates the conditionals whose outcome is known without headers; others stay for tree-sitter. */
export function resolveKnownConditionals(lines: string[], cxx: boolean): void {
  interface Frame { known: boolean; active: boolean; taken: boolean; outerActive: boolean }
  const stack: Frame[] = [];
  const active = () => stack.every((f) => !f.known || f.active);
  const evaluate = (dir: string, expr: string): boolean | undefined => {
    const e = expr.replace(/\/\*.*?\*\/|\/\/.*$/g, '').replace(/\s+/g, '');
    if (dir === 'ifdef') return e === '__cplusplus' ? cxx : undefined;
    if (dir === 'ifndef') return e === '__cplusplus' ? !cxx : undefined;
    if (e === '0' || e === '1') return e === '1';
    if (['defined(__cplusplus)', 'defined__cplusplus', '__cplusplus'].includes(e)) return cxx;
    if (['!defined(__cplusplus)', '!defined__cplusplus', '!__cplusplus'].includes(e)) return !cxx;
    return undefined;
  };
  lines.forEach((line, i) => {
    const m = DIRECTIVE.exec(line);
    const dir = m?.[1] ?? '';
    const top = stack[stack.length - 1];
    if (dir === 'if' || dir === 'ifdef' || dir === 'ifndef') {
      const outerActive = active();
      const value = evaluate(dir, m![2]);
      stack.push({ known: value !== undefined, active: value ?? true, taken: value ?? true, outerActive });
      if (value !== undefined || !outerActive) lines[i] = blank(line);
    } else if (top && (dir === 'elif' || dir === 'else')) {
      if (top.known) {
        // An #elif we cannot evaluate is taken as false: the branch before it is the one kept.
        const value = dir === 'else' ? true : evaluate('if', m![2]) ?? false;
        top.active = !top.taken && value;
        top.taken ||= top.active;
      }
      if (top.known || !top.outerActive) lines[i] = blank(line);
    } else if (top && dir === 'endif') {
      stack.pop();
      if (top.known || !top.outerActive) lines[i] = blank(line);
    } else if (!active()) {
      lines[i] = blank(line);
    }
  });
}

/** Expands the file's own object-like macros and drops attribute-like macros, line by line. */
export function expandMacros(lines: string[]): void {
  const objects = new Map<string, string>();
  const attributeFunctions = new Set<string>();
  for (const line of lines) {
    const m = /^\s*#\s*define\s+([A-Za-z_]\w*)(\([^)]*\))?(.*)$/.exec(line);
    if (!m || m[3].trimEnd().endsWith('\\')) continue;
    const body = m[3].replace(/\/\*.*?\*\/|\/\/.*$/g, '').trim();
    if (m[2]) {
      if (body === '' || /^(__attribute__|__declspec|\[\[)/.test(body)) attributeFunctions.add(m[1]);
    } else if (!objects.has(m[1])) {
      objects.set(m[1], body);
    }
  }
  for (const name of HEADER_ATTRIBUTE_MACROS) if (!objects.has(name)) objects.set(name, '');
  const expand = (name: string, seen: Set<string>): string => {
    const body = objects.get(name)!;
    return body.replace(/[A-Za-z_]\w*/g, (id) => objects.has(id) && !seen.has(id) ? expand(id, new Set([...seen, id])) : id);
  };
  lines.forEach((line, i) => {
    if (DIRECTIVE.test(line)) return;
    let out = line.replace(/[A-Za-z_]\w*/g, (id) => objects.has(id) ? expand(id, new Set([id])) : id);
    // tree-sitter-c does not know complex types; one word keeps the declaration parseable (and rejected later).
    out = out.replace(/\b(?:(?:long\s+)?(?:float|double)\s+)?(?:_Complex|__complex__)(?:\s+(?:long\s+)?(?:float|double)\b)?/g, '_Complex');
    for (const name of attributeFunctions) {
      for (let at = out.search(new RegExp(`\\b${name}\\s*\\(`)); at >= 0; at = out.search(new RegExp(`\\b${name}\\s*\\(`))) {
        let depth = 0;
        let end = out.indexOf('(', at);
        for (; end < out.length; end++) {
          if (out[end] === '(') depth++;
          else if (out[end] === ')' && --depth === 0) break;
        }
        out = out.slice(0, at) + ' '.repeat(end + 1 - at) + out.slice(end + 1);
      }
    }
    lines[i] = out;
  });
}

const SPECIFIER_WORDS = new Set(['const', 'volatile', 'static', 'inline', '__inline', '__inline__', 'extern', 'register',
  'restrict', '__restrict', '_Noreturn', '__extension__', 'struct', 'union', 'enum', 'signed', 'unsigned']);

/**
 * A declaration head that tree-sitter could not parse usually holds a macro from a header
 * (`float IRAM_ATTR f(...)`, `MY_API int f(...)`). Upper-case identifiers that sit where no type can
 * be (after the type, or before a type word) are blanked. Returns the new text, or undefined.
 */
export function blankStrayMacros(text: string, regions: Array<[number, number]>, scope: TypeScope): string | undefined {
  let out = text;
  for (const [start, end] of regions) {
    const toks = [...text.slice(start, end).matchAll(/[A-Za-z_]\w*|\S/g)];
    let seenType = false;
    for (let k = 0; k < toks.length; k++) {
      const t = toks[k][0];
      const next = toks[k + 1]?.[0] ?? '';
      if (t === '__attribute__' || t === '__declspec') {
        // Skip the attribute's parenthesised arguments.
        let depth = 0;
        for (k++; k < toks.length; k++) {
          if (toks[k][0] === '(') depth++;
          else if (toks[k][0] === ')' && --depth === 0) break;
        }
        continue;
      }
      if (t === '(' || t === '{' || t === ';') break;
      if (scope.isTypeName(t) || t === 'struct' || t === 'union' || t === 'enum') {
        seenType = true;
        if (t === 'struct' || t === 'union' || t === 'enum') k++;
        continue;
      }
      if (SPECIFIER_WORDS.has(t) || !/^[A-Za-z_]/.test(t)) continue;
      if (next === '(') break; // the function's name
      const isTypeNext = scope.isTypeName(next) || SPECIFIER_WORDS.has(next);
      if (/^[A-Z_][A-Z0-9_]*$/.test(t) && /[A-Z]/.test(t) && (seenType || isTypeNext || /_ATTR$|_API$|_EXPORT$/.test(t))) {
        const at = start + toks[k].index!;
        out = out.slice(0, at) + blank(t) + out.slice(at + t.length);
      } else {
        seenType = true;
      }
    }
  }
  return out === text ? undefined : out;
}
