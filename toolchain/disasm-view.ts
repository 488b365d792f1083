/**
 * The disassembly a user reads: objdump's `-d -l` output of a loaded function's ELF, rearranged so
 * the user's function(s) come first, each source line before its instructions (as a `#` comment,
 * by path relative to the workspace), and the generated entry wrapper last, inside a `# region`
 * the editor folds. Pure: the source lines come from a callback.
 */
import { basename, isAbsolute, relative } from 'node:path';

import { ENTRY_SYMBOL, WRAPPER_FILE_NAME } from './wrapper.js';

export interface DisassemblyViewOptions {
  /** Paths are shown relative to this folder (the workspace, or the source's folder). */
  relativeTo: string;
  /** The loaded function, named in the heading. */
  function: string;
  /** Its device address, named in the heading. */
  address?: number;
  /** Line `line` (1-based) of source file `path`, if it can be read. */
  sourceLine?: (path: string, line: number) => string | undefined;
}

interface Block {
  symbol: string;
  lines: string[];
  /** The block's code comes from the generated wrapper. */
  generated: boolean;
  /** Some of its lines come from the user's sources (not: the wrapper, libgcc). */
  fromSource: boolean;
}

const HEADER = /^([0-9a-f]+) <(.+)>:$/;
const INSTRUCTION = /^\s*[0-9a-f]+:\t/;
/** objdump -l's location lines: "/abs/file.c:12" or "… (discriminator 3)". */
const LOCATION = /^(\S.*):(\d+)(?: \(discriminator \d+\))?$/;
/** objdump -l's function lines: "fir():". */
const FUNCTION_LINE = /^[\w.$]+\(\):$/;

export const FOLD_START = '# region';
export const FOLD_END = '# endregion';

export function disassemblyView(objdump: string, opts: DisassemblyViewOptions): string {
  const blocks: Block[] = [];
  for (const line of objdump.split('\n')) {
    const header = HEADER.exec(line);
    if (header) {
      blocks.push({ symbol: header[2], lines: [`${header[2]}:${' '.repeat(Math.max(1, 30 - header[2].length))}# 0x${header[1]}`], generated: header[2] === ENTRY_SYMBOL, fromSource: false });
      continue;
    }
    const block = blocks.at(-1);
    if (!block || FUNCTION_LINE.test(line) || !line.trim()) continue;
    if (INSTRUCTION.test(line)) {
      const [address, ...rest] = line.trim().split('\t');
      block.lines.push(`    ${address.padEnd(10)} ${rest.join(' ').replace(/\s+#\s*/, '    # ')}`.trimEnd());
      continue;
    }
    const location = LOCATION.exec(line);
    if (location && (isAbsolute(location[1]) || location[1].includes('/'))) {
      const shown = showPath(location[1], opts.relativeTo);
      if (shown !== WRAPPER_FILE_NAME) block.fromSource = true;
      const text = opts.sourceLine?.(location[1], Number(location[2]))?.replace(/\t/g, '    ').trimEnd();
      block.lines.push(`# ${shown}:${location[2]}${text ? `  ${text}` : ''}`);
    }
  }
  const user = blocks.filter((b) => !b.generated && b.fromSource);
  const wrapper = [...blocks.filter((b) => b.generated), ...blocks.filter((b) => !b.generated && !b.fromSource)];
  const at = opts.address !== undefined ? ` loaded at 0x${(opts.address >>> 0).toString(16)}` : '';
  return [
    `# ${opts.function}${at}: RISC-V machine code with its source lines (read-only)`,
    '',
    ...user.flatMap((b) => [...b.lines, '']),
    ...(wrapper.length
      ? [`${FOLD_START} generated code: the entry that unpacks the argument slots, calls ${opts.function} and stores the result${wrapper.length > 1 ? '; library code' : ''}`,
          ...wrapper.flatMap((b) => [...b.lines, '']), FOLD_END]
      : []),
    '',
  ].join('\n');
}

/** A source path as the user knows it: relative to the workspace; the generated wrapper by its name. */
function showPath(path: string, relativeTo: string): string {
  if (basename(path) === WRAPPER_FILE_NAME) return WRAPPER_FILE_NAME;
  const rel = relative(relativeTo, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : basename(path);
}
