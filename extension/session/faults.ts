/** Turns a FAULT or TIMEOUT reply into words and a source line. */
import { basename, dirname, resolve } from 'node:path';

import type { DeviceError } from '../device/errors.js';
import { Err } from '../protocol/constants.js';
import type { Toolchain } from '../../toolchain/discover.js';
import type { SourceLocation } from '../../toolchain/debuginfo.js';
import { WRAPPER_FILE_NAME } from '../../toolchain/wrapper.js';
import type { FaultInfo, LoadedFunction } from './types.js';

const CAUSES: Record<number, string> = {
  0: 'misaligned instruction fetch',
  1: 'instruction access fault',
  2: 'illegal instruction',
  3: 'breakpoint (ebreak)',
  4: 'misaligned load',
  5: 'load access fault',
  6: 'misaligned store',
  7: 'store access fault',
  8: 'ecall from user mode',
  11: 'ecall',
  12: 'instruction page fault',
  13: 'load page fault',
  15: 'store page fault',
};

export function causeName(mcause: number): string {
  return CAUSES[mcause] ?? `exception ${mcause}`;
}

const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/**
 * Where in the user's code `pc` is: the innermost frame outside the generated wrapper (which
 * #includes the user's file and inlines the function); in the wrapper itself, the function's own
 * first line. Never a line of generated code.
 */
async function userLocation(fn: LoadedFunction, frames: SourceLocation[]): Promise<SourceLocation | undefined> {
  const generated = (file: string) => basename(file) === WRAPPER_FILE_NAME || resolve(dirname(file)) === resolve(dirname(fn.elfPath));
  const user = frames.find((f) => !generated(f.file));
  if (user) return user;
  return frames.length ? { file: fn.file, line: fn.signature.startLine, function: fn.name } : undefined;
}

export async function describeFault(
  e: DeviceError,
  fn: LoadedFunction,
  toolchain: Toolchain,
  lookup: (t: Toolchain, elf: string, addr: number) => Promise<SourceLocation[]>,
): Promise<FaultInfo> {
  const timeout = e.code === Err.TIMEOUT;
  const pc = (timeout ? e.detail[0] : e.detail[1]) ?? 0;
  const inside = pc >= fn.addr && pc < fn.addr + fn.size;
  const loc = inside ? await userLocation(fn, await lookup(toolchain, fn.elfPath, pc).catch(() => [])) : undefined;
  const where = loc ? ` in ${basename(loc.file)}:${loc.line}` : inside ? '' : ' (outside the function: in code it called)';
  const base = { pc, file: loc?.file, line: loc?.line };
  if (timeout) {
    return { kind: 'timeout', message: `${fn.name} exceeded its time limit and was stopped at pc ${hex(pc)}${where}`, ...base };
  }
  const [cause, , tval] = e.detail;
  const addrPart = [1, 4, 5, 6, 7].includes(cause) ? ` at address ${hex(tval)}` : '';
  return {
    kind: 'fault',
    message: `${causeName(cause)}${addrPart} (pc ${hex(pc)})${where}`,
    cause,
    badAddress: tval,
    ...base,
  };
}
