/**
 * The public API: a device, the functions loaded onto it and the buffers kept on it, for scripts,
 * notebooks and tools. Built on the session layer (build, load, marshal, call) and the connect
 * policy the CLI uses; no vscode import.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { ArgumentInput, DeviceAddress, TypedArray } from '../../toolchain/value-args.js';
import { isTypedArray } from '../../toolchain/value-args.js';
import { ensurePrivateDir } from '../../toolchain/private-dir.js';
import { formatSignature } from '../../toolchain/signature.js';
import type { AssembledSymbol } from '../../toolchain/assembly.js';
import { closeDevice, openDevice, type DeviceHandle } from '../connect/open-device.js';
import type { DeviceInfo, HeapInfo } from '../protocol/payloads.js';
import { defaultSettings } from '../session/defaults.js';
import { JitSession } from '../session/jit-session.js';
import type { AllocationView, CallResult, LoadedFunction, SessionSettings } from '../session/types.js';
import { CallFaultError, CallOverrunError, CallTimeoutError } from './errors.js';
import { InputError } from '../../toolchain/errors.js';

export interface ConnectOptions {
  /** A board's serial port (e.g. /dev/ttyACM0). Default: a connected board, else the emulator. */
  port?: string;
  /** Start an emulated ESP32-P4 for this connection (stopped by close()). */
  emulator?: boolean;
  /** Count instructions on the emulator (deterministic counts; the default). */
  icount?: boolean;
  /** The device's secret, when it requires authentication (default: $P4JIT_SECRET). */
  secret?: string;
  /** Compiler optimisation, e.g. '-O2' (the default) or '-O3'. */
  optimization?: string;
  /** More compiler flags, e.g. ['-DTAPS=32']. */
  flags?: string[];
  /** Device time limit of each call in ms (0: the device's default). */
  timeLimitMs?: number;
  /** The RISC-V GCC to use (file or bin folder). Default: found on PATH. */
  toolchain?: string;
  /** The board firmware's ELF, for calling its functions (the emulator's is found by itself). */
  firmwareElf?: string;
}

/** What a call gave back; arrays the function could write are also copied into the caller's typed arrays. */
export interface CallOutcome {
  /** The return value (bigint for 64-bit integers; null for void). */
  value: number | bigint | boolean | null;
  /** What the device counted (see `counter`): instructions on the emulator, cycles on a board. */
  count: bigint | null;
  counter: CallResult['counter'];
  /** Device time of the call in µs (see CallResult.timeUs). */
  timeUs: number | null;
  /** What the function printed. */
  output: string;
  /** Copied-back arrays by parameter name (also written into typed arrays given for them). */
  arrays: CallResult['arrays'];
  /** Host time of the whole call, ms. */
  hostMs: number;
  /** The session's full record (for formatting with the same text the CLI prints). */
  result: CallResult;
}

export interface LoadOptions {
  /**
   * More sources to link into the function: C, C++ or assembly files (e.g. `['gain.S']` for a C
   * function that calls an assembly kernel). Kept for the file's later loads until given again.
   */
  link?: readonly string[];
}

/** Like LoadOptions, for source text. */
export interface LoadSourceOptions extends LoadOptions {
  /** The name the source is written under (its extension picks the language: .c, .cpp). */
  fileName?: string;
}

export interface CallOptions {
  timeLimitMs?: number;
  signal?: AbortSignal;
}

/** A loaded function: call it like a JavaScript function. */
export interface JitFunction {
  (...args: ArgumentInput[]): Promise<CallOutcome>;
  readonly name: string;
  readonly file: string;
  /** Entry address and size of its code on the device. */
  readonly address: number;
  readonly size: number;
  /** The C declaration it was called with, e.g. `float rms(const float *x, int n)`. */
  readonly signature: string;
  call(args: readonly ArgumentInput[], options?: CallOptions): Promise<CallOutcome>;
  disassembly(): Promise<string>;
  free(): Promise<void>;
}

/** Memory kept on the device (weights, look-up tables): pass it to any number of calls by reference. */
export class DeviceBuffer implements DeviceAddress {
  private freed = false;

  constructor(private readonly device: Device, readonly address: number, readonly size: number) {}

  /** Reads the buffer back, into `into` when given (its byte length must not exceed the buffer's). */
  async read<T extends TypedArray = Uint8Array>(into?: T): Promise<T> {
    const bytes = await this.device.session.client.read(this.address, into ? into.byteLength : this.size);
    const target = into ?? (new Uint8Array(bytes.length) as T);
    new Uint8Array(target.buffer, target.byteOffset, target.byteLength).set(bytes);
    return target;
  }

  async write(data: TypedArray | Buffer, offset = 0): Promise<void> {
    if (offset < 0 || offset + data.byteLength > this.size) throw new InputError(`${data.byteLength} bytes at offset ${offset} do not fit a buffer of ${this.size}`);
    await this.device.session.client.write(this.address + offset, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  async free(): Promise<void> {
    if (this.freed) return;
    this.freed = true;
    this.device.forget(this);
    await this.device.session.client.free(this.address);
  }
}

/** Runs one step on the device with no other user's step in between (a shared connection's lock). */
export type DeviceLock = <T>(work: () => Promise<T>) => Promise<T>;

const unlocked: DeviceLock = (work) => work();

export class Device {
  private sourceCount = 0;
  /** What this Device loaded and allocated: an attached Device frees only these when closed. */
  private readonly ownFunctions = new Set<string>();
  private readonly ownBuffers = new Set<DeviceBuffer>();

  private constructor(
    private readonly handle: DeviceHandle | null, readonly session: JitSession,
    readonly exclusive: DeviceLock = unlocked, private readonly sharedLabel = '',
  ) {}

  /**
   * A Device over a session someone else owns (the VS Code extension's connection, shared with a
   * notebook): every step takes `lock`, and close() frees what this Device loaded, leaving the
   * connection open.
   */
  static attach(session: JitSession, lock: DeviceLock, label: string): Device {
    return new Device(null, session, lock, label);
  }

  /** Opens a device: the given port, an emulator, or a connected board (else the emulator). */
  static async connect(options: ConnectOptions = {}): Promise<Device> {
    const handle = await openDevice({ port: options.port, emulator: options.emulator, icount: options.icount, secret: options.secret });
    const settings: SessionSettings = defaultSettings({
      toolchainPath: options.toolchain,
      firmwareElf: options.firmwareElf ?? handle.emulator?.image,
      optimization: options.optimization ?? '-O2',
      extraFlags: options.flags ?? [],
      callTimeLimitMs: options.timeLimitMs ?? 0,
    });
    return new Device(handle, new JitSession(handle.client, settings));
  }

  /** The port the device answers on ("emulated ESP32-P4 (/dev/pts/3)" for an emulator). */
  get label(): string {
    return this.handle?.label ?? this.sharedLabel;
  }

  get info(): DeviceInfo {
    return this.session.client.info!;
  }

  /** Compiles `name` from the C (or C++) file and loads it; rebuilt only when its sources changed. */
  async load(file: string, name: string, options: LoadOptions = {}): Promise<JitFunction> {
    const fn = await this.exclusive(() => this.session.load(file, name, undefined, options.link));
    this.ownFunctions.add(fn.key);
    return this.wrap(fn);
  }

  /**
   * Like load, from source text (a notebook cell): written to a file of this user's own first.
   * A string third argument is the file name (as before LoadSourceOptions).
   */
  async loadSource(source: string, name: string, options: LoadSourceOptions | string = {}): Promise<JitFunction> {
    const opts = typeof options === 'string' ? { fileName: options } : options;
    return this.load(this.sourceFile(source, opts.fileName ?? `source-${++this.sourceCount}.c`), name, opts);
  }

  /**
   * Assembles an assembly file (.S, through the C preprocessor, or .s) on its own, so its errors
   * show before a C function links it; answers the global symbols it defines (link it with
   * `load(file, name, { link: [asmFile] })`).
   */
  assemble(file: string): Promise<AssembledSymbol[]> {
    return this.session.assemble(file);
  }

  /** Writes source text to a file of this user's own (a cell's code) and answers its path. */
  sourceFile(source: string, fileName: string): string {
    if (!/^[\w.+-]+$/.test(fileName)) throw new InputError(`'${fileName}' is not a plain file name (letters, digits, . _ + - only)`);
    const file = join(ensurePrivateDir(join(this.session.settings.buildRoot, '..', 'sources')), fileName);
    writeFileSync(file, source);
    return file;
  }

  /** Copies `data` to new device memory (or allocates `bytes` zeroed when given a size). */
  async buffer(data: TypedArray | number): Promise<DeviceBuffer> {
    const size = typeof data === 'number' ? data : data.byteLength;
    if (!Number.isInteger(size) || size <= 0) throw new InputError(`a device buffer needs a positive whole number of bytes, not ${size}`);
    const address = await this.session.client.alloc(size, this.session.settings.dataCaps, 16);
    const buffer = new DeviceBuffer(this, address, size);
    this.ownBuffers.add(buffer);
    try {
      await buffer.write(typeof data === 'number' ? new Uint8Array(size) : data);
    } catch (e) {
      await buffer.free().catch(() => undefined);
      throw e;
    }
    return buffer;
  }

  heap(): Promise<HeapInfo> {
    return this.session.heap();
  }

  allocations(): Promise<AllocationView[]> {
    return this.session.allocations();
  }

  /** Frees every function and buffer this Device loaded (on its own connection: its argument memory too). */
  async freeAll(): Promise<void> {
    const buffers = [...this.ownBuffers];
    this.ownBuffers.clear();
    for (const b of buffers) await b.free().catch(() => undefined);
    if (this.handle) {
      await this.exclusive(() => this.session.freeAll());
    } else {
      for (const key of this.ownFunctions) await this.exclusive(() => this.session.free(key)).catch(() => undefined);
    }
    this.ownFunctions.clear();
  }

  /** Frees what this Device loaded and closes the port it opened (stopping an emulator it started). */
  async close(): Promise<void> {
    try {
      if (this.session.client.connected) await this.freeAll().catch(() => undefined);
    } finally {
      if (this.handle) await closeDevice(this.handle);
    }
  }

  /** @internal DeviceBuffer.free: no longer this Device's to free. */
  forget(buffer: DeviceBuffer): void {
    this.ownBuffers.delete(buffer);
  }

  private wrap(fn: LoadedFunction): JitFunction {
    const call = async (args: readonly ArgumentInput[], options: CallOptions = {}): Promise<CallOutcome> => {
      const result = await this.exclusive(() => this.session.call(fn.key, args, { ...options, rebuild: true }));
      if (result.fault?.kind === 'timeout') throw new CallTimeoutError(result);
      if (result.fault) throw new CallFaultError(result);
      if (result.overrun) throw new CallOverrunError(result);
      copyBack(fn, args, result);
      return {
        value: result.returnValue, count: result.count, counter: result.counter, timeUs: result.timeUs,
        output: result.output, arrays: result.arrays, hostMs: result.hostMs, result,
      };
    };
    const f = ((...args: ArgumentInput[]) => call(args)) as JitFunction;
    const current = () => this.session.loaded().find((l) => l.key === fn.key) ?? fn;
    Object.defineProperties(f, {
      name: { value: fn.name },
      file: { value: fn.file, enumerable: true },
      address: { get: () => current().entry, enumerable: true },
      size: { get: () => current().size, enumerable: true },
      signature: { get: () => formatSignature(current().signature), enumerable: true },
      call: { value: call },
      disassembly: { value: () => this.session.disassembly(fn.key) },
      free: { value: () => { this.ownFunctions.delete(fn.key); return this.exclusive(() => this.session.free(fn.key)); } },
    });
    return f;
  }
}

/** Writes each copied-back array into the typed array (or plain array) the caller gave for it. */
function copyBack(fn: LoadedFunction, args: readonly ArgumentInput[], result: CallResult): void {
  fn.signature.params.forEach((param, i) => {
    const given = args[i];
    const values = result.arrays[param.name];
    if (!values) return;
    if (isTypedArray(given)) (given as unknown as { set(v: ArrayLike<unknown>): void }).set(values);
    else if (Array.isArray(given)) (given as unknown[]).splice(0, values.length, ...values);
  });
}
