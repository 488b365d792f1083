/**
 * Compile once, link at the address the device allocated: objects are built once; the link runs
 * in a private folder of its own (two processes may link the same build at once) and its ELF is
 * renamed into place. The entry wrapper (__p4jit_entry) is placed first so the image starts with it.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

import { execa } from 'execa';

import type { ToolResult } from './run-tool.js';
import { runToolFast } from './tool-runner.js';
import { loadImage, readElf, type ElfFile } from './elf.js';
import type { Toolchain } from './discover.js';
import { P4JitError } from '../extension/util/errors.js';

export const ENTRY_SYMBOL = '__p4jit_entry';
/** An address for a link that only measures the size (tests; loads link once at the real address). */
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

export class CompileError extends P4JitError {
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
    // DWARF 4: binutils 2.40 names the including file (the generated wrapper) for lines of a
    // DWARF 5 unit's #included source, so disassembly and fault lines would point at generated code
    '-g', '-gdwarf-4',
    '-ffunction-sections',
    '-fdata-sections',
    // no gp-relative data: gp belongs to the firmware
    '-msmall-data-limit=0',
    '-fno-common',
    // the assembler reads the compiler's output as it comes (no temporary file): 2 ms of a save
    '-pipe',
    ...(opts.extraFlags ?? []),
  ];
}

/** GCC's own "file:line:col: error:" line leads the message; a file or function named "error" is not one. */
export function compileFailure(text: string): CompileError {
  const lines = text.split('\n');
  const first = lines.find((l) => /:\d+:\d+: (fatal )?error:/.test(l)) ?? lines.find((l) => /\berror\b/.test(l)) ?? lines[0];
  return new CompileError(`compilation failed: ${first}`, text);
}

/** Runs the compiler; resolves with its exit status and everything it printed. */
export function runCompiler(args: string[], opts: Pick<BuildOptions, 'toolchain'>): Promise<ToolResult> {
  return runToolFast(opts.toolchain.gcc, args);
}

/** Compiles `source` into buildDir; `extra` adds flags (e.g. -MD -MF for the dependency list). */
export async function compileObject(source: string, opts: BuildOptions, objName = basename(source) + '.o', extra: string[] = []): Promise<string> {
  mkdirSync(opts.buildDir, { recursive: true });
  const obj = join(opts.buildDir, objName);
  const r = await runCompiler([...compileFlags(opts), ...extra, '-c', source, '-o', obj], opts);
  if (!r.ok) throw compileFailure(r.text);
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

export const NO_FIRMWARE_HINT = 'give the ELF of the firmware running on the device so JIT code can call its functions ' +
  '(VS Code setting p4jit.firmwareElf, CLI --firmware-elf ELF)';

/**
 * Links at `base` and returns the ELF, kept as `<buildDir>/<name>@<base>.elf`. Script and output
 * are written in a new private folder and the ELF renamed into place: another process linking
 * the same build never sees a half-written file, and no file planted there is followed.
 */
export async function linkAt(objects: string[], base: number, name: string, opts: BuildOptions): Promise<LinkResult> {
  mkdirSync(opts.buildDir, { recursive: true });
  const work = mkdtempSync(join(opts.buildDir, '.link-'));
  try {
    const script = join(work, 'link.ld');
    const out = join(work, 'out.elf');
    writeFileSync(script, linkerScript(base), { flag: 'wx' });
    // ld itself rather than the gcc driver: one process instead of three, on the hot path
    const args = [
      '-m', 'elf32lriscv',
      '-nostdlib',
      '-T', script,
      '--gc-sections', '--no-relax', '--no-warn-rwx-segments',
      ...objects,
      ...(opts.firmwareElf ? ['-R', opts.firmwareElf] : []),
      await libgcc(opts.toolchain), // soft double and 64-bit division helpers
      '-o', out,
    ];
    const { ok, text } = await runToolFast(`${opts.toolchain.prefix}ld`, args);
    if (!ok) {
      const undef = /undefined reference to `([^']+)'/.exec(text);
      const hint = undef && !opts.firmwareElf ? ` (${undef[1]} is not in the function's files; ${NO_FIRMWARE_HINT})` : '';
      // the line giving the reason: an "in function `handle_error':" line or a path may also say "error"
      const lines = text.split('\n');
      const reason = lines.find((l) => /undefined reference|multiple definition|cannot find|error:/.test(l)) ?? lines.find((l) => l.trim()) ?? text;
      throw new CompileError(`link failed: ${reason}${hint}`, text);
    }
    const elf = readElf(out);
    const image = loadImage(elf, base);
    const elfPath = join(opts.buildDir, `${name}@${base.toString(16).padStart(8, '0')}.elf`);
    renameSync(out, elfPath);
    return { elfPath, elf, image, base };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
