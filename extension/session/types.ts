/**
 * What a JIT session deals in: settings, functions loaded on the device, and call results.
 * Shared by the VS Code glue, the CLI and the tests (no `vscode` import).
 */
import type { ElementKind, ScalarKind } from '../../toolchain/ctypes.js';
import type { FunctionSignature } from '../../toolchain/signature.js';
import type { CounterKind } from '../protocol/payloads.js';

export interface SessionSettings {
  /** Explicit compiler (file or bin folder); undefined = discover. */
  toolchainPath?: string;
  /** Firmware ELF whose symbols JIT code may call; on the emulator its own image is used. */
  firmwareElf?: string;
  optimization: string;
  extraFlags: string[];
  /** Heap caps for code and for argument arrays. */
  codeCaps: number;
  dataCaps: number;
  /** Device-side time limit per call (ms); 0 = the device's default. */
  callTimeLimitMs: number;
  /** Link the other .c/.cpp/.S files of the function's folder in too. */
  linkFolderSources: boolean;
  /** The build cache: a folder of the user's own (refused when another user owns or can write to it). */
  buildRoot: string;
}

export interface FaultInfo {
  kind: 'fault' | 'timeout';
  /** One line for people: "load access fault at 0x00000000 (pc 0x82000044) in fir.c:12". */
  message: string;
  cause?: number;
  pc: number;
  badAddress?: number;
  /** Source location of pc, when the function's debug info has it. */
  file?: string;
  line?: number;
}

/** The call wrote outside a buffer (found in the device's guard bytes or the host's gaps). */
export interface OverrunInfo {
  /** What was overrun, in words: "argument 'p'", "the code of zfill", "the allocation at 0x…". */
  buffer: string;
  /** The parameter, when the buffer is an argument. */
  parameter: string | null;
  address: number;
  size: number;
  /** Bytes written before the start and past the end, as far as could be seen. */
  before: number;
  after: number;
  /** The damage reached as far as could be seen: it may go farther. */
  atLeast: boolean;
  /** Allocations the device found damaged (1 when the host found it in its own gaps). */
  allocations: number;
  /** One line for people. */
  message: string;
}

export interface ArgumentRecord {
  name: string;
  type: string;
  display: string;
}

export interface CallResult {
  id: number;
  function: string;
  file: string;
  args: ArgumentRecord[];
  /** The decoded return value (bigint for 64-bit integers), null for void or on a fault. */
  returnValue: number | bigint | boolean | null;
  returnDisplay: string;
  /** The device's counter around the call (null on a fault); `counter` says what it counts. */
  count: bigint | null;
  counter: CounterKind;
  /**
   * Device-measured time of the call, microseconds: the P4's clock on a board, the host's (wall
   * time) on an emulator without -icount; under -icount virtual time (count / 1000).
   */
  timeUs: number | null;
  /** Host time for the whole run (compile/cache, upload, call, copy back), milliseconds. */
  hostMs: number;
  /** What the function printed. */
  output: string;
  /** Copied-back contents of non-const pointer arguments, by parameter name. */
  arrays: Record<string, (number | bigint | boolean)[]>;
  /** C types of the return value (null for void) and of each copied-back array's elements. */
  kinds: { return: ScalarKind | null; arrays: Record<string, ElementKind> };
  fault: FaultInfo | null;
  /** A write outside a buffer (with or without a fault), or null. */
  overrun: OverrunInfo | null;
  /** ISO time. */
  at: string;
}

export interface LoadedFunction {
  /** `${file}::${name}` */
  key: string;
  name: string;
  file: string;
  signature: FunctionSignature;
  addr: number;
  /** Bytes of code and data, and bytes allocated for them (more after a single-link reload). */
  size: number;
  allocSize: number;
  entry: number;
  elfPath: string;
  /** The device was lost or reset since the load: the code is gone, never call it. */
  stale: boolean;
  /** Content hash of what was built (sources, flags, toolchain). */
  buildKey: string;
  /** Hash of the source files as they were read for this build: a call checks them first. */
  sourceHash: string;
  lastResult?: CallResult;
}

export interface AllocationView {
  addr: number;
  size: number;
  caps: number;
  /** Function name owning it, "arguments" for the session's argument arena, or null. */
  owner: string | null;
}
