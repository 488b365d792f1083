/**
 * Source-level views of a linked function: address → file:line (for faults) and disassembly with
 * the source interleaved (for "show disassembly"), from the function's own ELF and DWARF.
 */
import { execa } from 'execa';

import type { Toolchain } from './discover.js';
import { ToolchainError } from './errors.js';

export interface SourceLocation {
  file: string;
  line: number;
  function?: string;
}

/** The source frames at an address, innermost first: the inline chain addr2line -i gives. */
export async function addressFrames(toolchain: Toolchain, elfPath: string, address: number): Promise<SourceLocation[]> {
  const r = await execa(`${toolchain.prefix}addr2line`, ['-e', elfPath, '-f', '-C', '-i', `0x${(address >>> 0).toString(16)}`], { reject: false });
  if (r.exitCode !== 0) return [];
  const lines = r.stdout.split('\n');
  const frames: SourceLocation[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const [fn, loc] = [lines[i], lines[i + 1]];
    const m = /^(.*):(\d+)(?: \(discriminator \d+\))?$/.exec(loc);
    if (!m || m[1] === '??' || m[2] === '0') continue;
    frames.push({ file: m[1], line: Number(m[2]), function: fn && fn !== '??' ? fn : undefined });
  }
  return frames;
}

/** The innermost source line at an address. */
export async function addressToLine(toolchain: Toolchain, elfPath: string, address: number): Promise<SourceLocation | undefined> {
  return (await addressFrames(toolchain, elfPath, address))[0];
}

export async function disassemble(toolchain: Toolchain, elfPath: string): Promise<string> {
  const r = await execa(`${toolchain.prefix}objdump`, ['-d', '-l', '--no-show-raw-insn', elfPath], { reject: false, all: true });
  if (r.exitCode !== 0) throw new ToolchainError(`objdump failed: ${r.all}`);
  return r.stdout;
}

export async function sectionSizes(toolchain: Toolchain, elfPath: string): Promise<string> {
  const r = await execa(`${toolchain.prefix}size`, ['-A', elfPath], { reject: false });
  return r.stdout;
}
