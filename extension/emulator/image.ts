/**
 * The emulator's firmware image is built from firmware/ sources by the project (no binary is
 * shipped): here on first use, and again whenever a source is newer than the image.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { firmwareIdOf } from '../../toolchain/firmware-id.js';
import { packageRoot } from '../util/package-root.js';
import { P4JitError } from '../util/errors.js';

const run = promisify(execFile);

export interface FirmwareBuildOptions {
  /** Use this image instead of building one. */
  image?: string;
  /** Where built images go (default: build/firmware in the package, or ~/.cache/p4-jit when read-only). */
  buildDir?: string;
}

/** The board name the emulator reports in INFO. */
export const EMULATOR_BOARD = 'qemu-virt';

export const FIRMWARE_SOURCE_DIRS = ['firmware/emulator', 'firmware/components/p4_jit/core', 'firmware/heap'];

export function defaultBuildDir(): string {
  const root = packageRoot();
  try {
    accessSync(root, constants.W_OK);
    return join(root, 'build', 'firmware');
  } catch {
    return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'p4-jit', 'firmware');
  }
}

function newestSource(): number {
  let newest = 0;
  for (const rel of FIRMWARE_SOURCE_DIRS) {
    const dir = join(packageRoot(), rel);
    for (const f of readdirSync(dir)) newest = Math.max(newest, statSync(join(dir, f)).mtimeMs);
  }
  return newest;
}

/** Path of an up-to-date emulator image, building it when needed. */
export async function ensureFirmwareImage(opts: FirmwareBuildOptions = {}): Promise<string> {
  if (opts.image) {
    if (!existsSync(opts.image)) throw new P4JitError(`emulator image ${opts.image} does not exist`);
    return opts.image;
  }
  const out = opts.buildDir ?? defaultBuildDir();
  const image = join(out, 'p4jit-emu.elf');
  if (existsSync(image) && statSync(image).mtimeMs >= newestSource()) return image;
  try {
    await run('make', ['-s', '-C', join(packageRoot(), 'firmware', 'emulator'), `OUT=${out}`], { maxBuffer: 16 << 20 });
  } catch (e) {
    const err = e as { code?: string | number; stderr?: string; stdout?: string };
    if (err.code === 'ENOENT') throw new P4JitError('make is not installed: sudo apt-get install make');
    const text = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim();
    if (/riscv64-unknown-elf-gcc: (No such file|not found)|No such file or directory.*riscv64/.test(text) || /riscv64-unknown-elf-gcc.*not found/.test(text)) {
      throw new P4JitError('the RISC-V compiler is missing: run "npm run setup" or "sudo apt-get install gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf"');
    }
    throw new P4JitError(`building the emulator firmware failed:\n${text.split('\n').slice(-20).join('\n')}`);
  }
  return image;
}

/** This package's built emulator image, when it is the firmware a device reports running (INFO firmware_id). */
export function builtImageMatching(firmwareId: string): string | undefined {
  const image = join(defaultBuildDir(), 'p4jit-emu.elf');
  try {
    return firmwareIdOf(image, EMULATOR_BOARD) === firmwareId ? image : undefined;
  } catch {
    return undefined; // not built, or not readable
  }
}
