/**
 * Finds the RISC-V GCC to build JIT code with, in this order: an explicit path; ESP-IDF's tools
 * ($IDF_TOOLS_PATH, then ~/.espressif, newest version first); riscv32-esp-elf-gcc on PATH;
 * Debian's riscv64-unknown-elf-gcc (a multilib GCC that builds rv32imafc/ilp32f).
 * The extension may first ask the ESP-IDF extension (espIdf.getToolchainGcc) and pass the answer
 * as the explicit path.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { P4JitError } from '../extension/util/errors.js';

export type ToolchainKind = 'espressif' | 'gnu';

export interface Toolchain {
  kind: ToolchainKind;
  gcc: string;
  /** Path prefix of the binutils (…-objdump, …-addr2line). */
  prefix: string;
  /** How it was found, for "using …" messages. */
  source: string;
  /** -march/-mabi for compiling and for linking (they differ for GNU GCC 12, see README). */
  compileArch: string[];
  linkArch: string[];
  /** Flags that give the C library's headers (picolibc on Debian; Espressif ships newlib). */
  libcFlags: string[];
}

const ESP_GCC = 'riscv32-esp-elf-gcc';
const GNU_GCC = 'riscv64-unknown-elf-gcc';

export class ToolchainNotFoundError extends P4JitError {
  override name = 'ToolchainNotFoundError';
}

function onPath(exe: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, exe);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

function versionKey(v: string): number[] {
  return (v.match(/\d+/g) ?? []).map(Number);
}

function compareVersionsDesc(a: string, b: string): number {
  const x = versionKey(a), y = versionKey(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (y[i] ?? 0) - (x[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** riscv32-esp-elf-gcc under an ESP-IDF tools folder, newest version first. */
export function espIdfGcc(toolsPath: string): string | undefined {
  const base = join(toolsPath, 'tools', 'riscv32-esp-elf');
  if (!existsSync(base)) return undefined;
  for (const v of readdirSync(base).sort(compareVersionsDesc)) {
    const gcc = join(base, v, 'riscv32-esp-elf', 'bin', ESP_GCC);
    if (existsSync(gcc)) return gcc;
  }
  return undefined;
}

export function toolchainFor(gcc: string, source: string): Toolchain {
  if (!existsSync(gcc)) throw new ToolchainNotFoundError(`the configured compiler ${gcc} does not exist`);
  const espressif = gcc.includes('esp-elf');
  const prefix = gcc.replace(/gcc(\.exe)?$/, '');
  if (espressif) {
    const arch = ['-march=rv32imafc_zicsr_zifencei_xesppie', '-mabi=ilp32f'];
    return { kind: 'espressif', gcc, prefix, source, compileArch: arch, linkArch: arch, libcFlags: [] };
  }
  // GNU GCC 12: _zicsr_zifencei is needed to compile fence.i/csr, but as a link flag it breaks
  // the multilib choice (libgcc "ABI is incompatible"), so the link uses plain rv32imafc.
  const picolibc = existsSync('/usr/lib/picolibc/riscv64-unknown-elf/picolibc.specs');
  return {
    kind: 'gnu',
    gcc,
    prefix,
    source,
    compileArch: ['-march=rv32imafc_zicsr_zifencei', '-mabi=ilp32f'],
    linkArch: ['-march=rv32imafc', '-mabi=ilp32f'],
    libcFlags: picolibc ? ['--specs=picolibc.specs'] : ['-ffreestanding'],
  };
}

export function discoverToolchain(explicit?: string): Toolchain {
  if (explicit) {
    const gcc = existsSync(explicit) && statSync(explicit).isDirectory()
      ? [ESP_GCC, GNU_GCC].map((n) => join(explicit, n)).find(existsSync)
      : explicit;
    if (!gcc) throw new ToolchainNotFoundError(`no ${ESP_GCC} or ${GNU_GCC} in ${explicit}`);
    return toolchainFor(gcc, 'setting');
  }
  if (process.env.IDF_TOOLS_PATH) {
    const gcc = espIdfGcc(process.env.IDF_TOOLS_PATH);
    if (gcc) return toolchainFor(gcc, '$IDF_TOOLS_PATH');
  }
  const home = espIdfGcc(join(homedir(), '.espressif'));
  if (home) return toolchainFor(home, '~/.espressif');
  const esp = onPath(ESP_GCC);
  if (esp) return toolchainFor(esp, 'PATH');
  const gnu = onPath(GNU_GCC);
  if (gnu) return toolchainFor(gnu, 'PATH');
  throw new ToolchainNotFoundError(
    `no RISC-V compiler found: install ESP-IDF (riscv32-esp-elf-gcc), or on Debian/Ubuntu run ` +
    `"npm run setup" (sudo apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf)`);
}

export function describeToolchain(t: Toolchain): string {
  return `${t.kind === 'espressif' ? 'Espressif' : 'GNU'} RISC-V GCC ${t.gcc} (found via ${t.source})`;
}
