/**
 * Source-level views of a linked function: address → file:line (for faults) and disassembly with
 * the source interleaved (for "show disassembly"), from the function's own ELF and DWARF.
 */
import { dirname } from 'node:path';
import { execa } from 'execa';

import type { Toolchain } from './discover.js';

export interface SourceLocation {
  file: string;
  line: number;
  function?: string;
}

export async function addressToLine(toolchain: Toolchain, elfPath: string, address: number): Promise<SourceLocation | undefined> {
  const r = await execa(`${toolchain.prefix}addr2line`, ['-e', elfPath, '-f', '-C', '-i', `0x${(address >>> 0).toString(16)}`], { reject: false });
  if (r.exitCode !== 0) return undefined;
  // with -i the innermost inlined frame comes first: the user's line, not the wrapper's
  const [fn, loc] = r.stdout.split('\n');
  const m = /^(.*):(\d+)(?: \(discriminator \d+\))?$/.exec(loc ?? '');
  if (!m || m[1] === '??' || m[2] === '0') return undefined;
  return { file: m[1], line: Number(m[2]), function: fn && fn !== '??' ? fn : undefined };
}

export async function disassemble(toolchain: Toolchain, elfPath: string): Promise<string> {
  const r = await execa(`${toolchain.prefix}objdump`, ['-d', '-S', '-l', '--no-show-raw-insn', '-M', 'no-aliases',
    // the wrapper's source sits next to the ELF, in a build folder renamed after it was compiled
    '-I', dirname(elfPath), elfPath], { reject: false, all: true });
  if (r.exitCode !== 0) throw new Error(`objdump failed: ${r.all}`);
  return r.stdout;
}

export async function sectionSizes(toolchain: Toolchain, elfPath: string): Promise<string> {
  const r = await execa(`${toolchain.prefix}size`, ['-A', elfPath], { reject: false });
  return r.stdout;
}
