/**
 * Compile once, link twice: objects are built once; the link runs first at a placeholder address
 * to learn the size, then at the address the device allocated, with no recompilation. The entry
 * wrapper (__p4jit_entry) is placed first so the image starts with it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { execa } from 'execa';

import { loadImage, readElf, type ElfFile } from './elf.js';
import type { Toolchain } from './discover.js';

export const ENTRY_SYMBOL = '__p4jit_entry';
/** Where the first link places the code; any address works, the size is what it is for. */
export const PLACEHOLDER_BASE = 0x40000000;

export interface BuildOptions {
  toolchain: Toolchain;
  /** Folder for objects, scripts and ELFs (never the user's source folder). */
  buildDir: string;
  optimization?: string;
  extraFlags?: string[];
  /** Firmware ELF whose symbols (printf, malloc, …) JIT code may call. */
  firmwareElf?: string;
}

export class CompileError extends Error {
  override name = 'CompileError';
  constructor(message: string, readonly diagnostics: string) {
    super(message);
  }
}

export function compileFlags(opts: BuildOptions): string[] {
  return [
    ...opts.toolchain.compileArch,
    ...opts.toolchain.libcFlags,
    opts.optimization ?? '-O2',
    '-g',
    '-ffunction-sections',
    '-fdata-sections',
    // no gp-relative data: gp belongs to the firmware
    '-msmall-data-limit=0',
    '-fno-common',
    ...(opts.extraFlags ?? []),
  ];
}

export async function compileObject(source: string, opts: BuildOptions, objName = basename(source) + '.o'): Promise<string> {
  mkdirSync(opts.buildDir, { recursive: true });
  const obj = join(opts.buildDir, objName);
  const r = await execa(opts.toolchain.gcc, [...compileFlags(opts), '-c', source, '-o', obj], { reject: false, all: true });
  if (r.exitCode !== 0) {
    const text = r.all ?? '';
    // GCC's own "file:line:col: error:" line; a file or function named "error" is not one
    const lines = text.split('\n');
    const first = lines.find((l) => /:\d+:\d+: (fatal )?error:/.test(l)) ?? lines.find((l) => /\berror\b/.test(l)) ?? lines[0];
    throw new CompileError(`compilation failed: ${first}`, text);
  }
  return obj;
}

function linkerScript(base: number): string {
  return `ENTRY(${ENTRY_SYMBOL})
SECTIONS
{
  . = 0x${base.toString(16)};
  .text : { KEEP(*(.text.${ENTRY_SYMBOL})) *(.text .text.*) }
  .rodata : { *(.rodata .rodata.* .srodata .srodata.*) }
  .data : { *(.data .data.* .sdata .sdata.*) }
  .bss : { *(.bss .bss.* .sbss .sbss.* COMMON) }
  /DISCARD/ : { *(.comment) *(.note .note.*) *(.eh_frame .eh_frame.*) }
}
`;
}

const libgccPaths = new Map<string, Promise<string>>();

/** The libgcc.a of the toolchain's rv32imafc/ilp32f multilib (asked once per compiler). */
export function libgcc(t: Toolchain): Promise<string> {
  let p = libgccPaths.get(t.gcc);
  if (!p) {
    p = execa(t.gcc, [...t.linkArch, '-print-libgcc-file-name']).then((r) => r.stdout.trim());
    libgccPaths.set(t.gcc, p);
  }
  return p;
}

export interface LinkResult {
  elfPath: string;
  elf: ElfFile;
  image: Buffer;
  base: number;
}

export async function linkAt(objects: string[], base: number, name: string, opts: BuildOptions): Promise<LinkResult> {
  const script = join(opts.buildDir, `${name}.ld`);
  const elfPath = join(opts.buildDir, `${name}.elf`);
  writeFileSync(script, linkerScript(base));
  // ld itself rather than the gcc driver: one process instead of three, on the hot path twice
  const args = [
    '-m', 'elf32lriscv',
    '-nostdlib',
    '-T', script,
    '--gc-sections', '--no-relax', '--no-warn-rwx-segments',
    '-Map', join(opts.buildDir, `${name}.map`),
    ...objects,
    ...(opts.firmwareElf ? ['-R', opts.firmwareElf] : []),
    await libgcc(opts.toolchain), // soft double and 64-bit division helpers
    '-o', elfPath,
  ];
  const r = await execa(`${opts.toolchain.prefix}ld`, args, { reject: false, all: true });
  if (r.exitCode !== 0) {
    const text = r.all ?? '';
    const undef = /undefined reference to `([^']+)'/.exec(text);
    const hint = undef && !opts.firmwareElf
      ? ` (${undef[1]} is not in the function's files; to call firmware functions configure the firmware ELF)`
      : '';
    // the line giving the reason: an "in function `handle_error':" line or a path may also say "error"
    const lines = text.split('\n');
    const reason = lines.find((l) => /undefined reference|multiple definition|cannot find|error:/.test(l)) ?? lines.find((l) => l.trim()) ?? text;
    throw new CompileError(`link failed: ${reason}${hint}`, text);
  }
  const elf = readElf(elfPath);
  return { elfPath, elf, image: loadImage(elf, base), base };
}
