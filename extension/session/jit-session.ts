/**
 * A JIT session on one device: builds functions (cached by content), keeps them loaded, calls
 * them with typed arguments, and remembers recent results. Pure Node: the VS Code extension, the
 * CLI, the benchmarks and the tests all drive the device through this class.
 *
 * A call costs at most three round trips whatever the number of arrays: one WRITE_MEM for all
 * input arrays (into a reusable argument arena), the CALL, and one READ_MEM covering the arrays
 * the function may have changed.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import type { DeviceClient } from '../device/client.js';
import { DeviceError } from '../device/errors.js';
import { DeviceCap, Err } from '../protocol/constants.js';
import { builtImageMatching, EMULATOR_BOARD } from '../emulator/image.js';
import { counterKind } from '../protocol/payloads.js';
import { discoverToolchain, type Toolchain } from '../../toolchain/discover.js';
import { addressFrames, disassemble } from '../../toolchain/debuginfo.js';
import { disassemblyView } from '../../toolchain/disasm-view.js';
import { checkFirmwareElf } from '../../toolchain/firmware-id.js';
import { assembleFile, type AssembledSymbol } from '../../toolchain/assembly.js';
import { buildFunction, folderSources, type BuiltFunction } from '../../toolchain/function-build.js';
import { ensurePrivateDir } from '../../toolchain/private-dir.js';
import { startToolRunner } from '../../toolchain/tool-runner.js';
import { loadObjects } from './loader.js';
import { measureInputs, type ArgumentInput } from '../../toolchain/value-args.js';
import { arenaBytesFor, marshalArguments, roomProblem, type MarshalledArguments } from './marshal.js';
import { changedRanges } from './changed-ranges.js';
import { FileDigests } from './file-digests.js';
import { describeFault } from './faults.js';
import { deviceOverrun, gapOverrun } from './overrun.js';
import { overrunRecord } from '../protocol/payloads.js';
import type { AllocationView, CallResult, LoadedFunction, SessionSettings } from './types.js';
import { P4JitError } from '../util/errors.js';

export const HISTORY_LIMIT = 50;
const ARENA_MIN = 4096;
/** Arenas up to this size are rounded up to a power of two (reused by growing calls); larger ones to 64 KiB. */
const ARENA_POW2_MAX = 1 << 20;

export interface RunOptions {
  timeLimitMs?: number;
  /**
   * Stops the run at the next safe point: before a build, between upload frames, before the call.
   * A call already running is not cut off (that could leave the device mid-call): it ends at its
   * time limit. What the run allocated stays owned by the session (freeAll frees it).
   */
  signal?: AbortSignal;
  /** Folder relative `@file` arguments start from (default: the working directory). */
  baseDir?: string;
}

/** What a run is doing, for a progress display ('progress' event). */
export interface Progress {
  function: string;
  step: 'build' | 'load' | 'upload-arguments' | 'call' | 'read-back';
  /** Bytes moved by an upload or read-back step. */
  bytes?: number;
  /** The call's time limit in ms (step 'call'). */
  timeLimitMs?: number;
}

/** A call of loaded code whose source has changed since: that code is not what the file says. */
export class SourceChangedError extends P4JitError {
  override name = 'SourceChangedError';
  constructor(readonly fn: LoadedFunction) {
    super(`${fn.name} was not called: ${fn.file.replace(/.*[\\/]/, '')} changed since ${fn.name} was loaded, ` +
      'so the loaded code is not what the source says; run it to rebuild and reload it');
  }
}

export interface CallOptions extends RunOptions {
  /** When the source changed since the load: rebuild and reload first instead of refusing. */
  rebuild?: boolean;
}

export class JitSession extends EventEmitter {
  private readonly functions = new Map<string, LoadedFunction>();
  private readonly digests = new FileDigests();
  private readonly sourceHashes = new Map<string, { digests: string; hash: string }>();
  private readonly results: CallResult[] = [];
  private arena: { addr: number; size: number } | null = null;
  private nextId = 1;
  private toolchainCache: Toolchain | undefined;
  private firmwareChecked = false;
  /** This package's emulator image when the device runs it; null until looked for on this connection. */
  private ownImage: string | undefined | null = null;

  private current: DeviceClient;
  private unwatch: () => void = () => undefined;
  /** The bytes uploaded for each function, to recognise it on the device after a reconnect. */
  private readonly images = new Map<string, Buffer>();
  /** What the last call's read-back found in the arena, still true while the client's memoryEpoch holds. */
  private readBack: { client: DeviceClient; epoch: number; addr: number; bytes: Buffer } | null = null;
  /** Sources given to load() to link into a file's functions (a notebook's assembly cells), by file. */
  private readonly linkedSources = new Map<string, readonly string[]>();

  constructor(client: DeviceClient, readonly settings: SessionSettings) {
    super();
    this.current = client;
    this.watch(client);
    void startToolRunner(); // ready before the first save needs the compiler
  }

  get client(): DeviceClient {
    return this.current;
  }

  private watch(client: DeviceClient): void {
    const onOutput = (text: string) => this.emit('output', text);
    const onDisconnect = () => this.markAllStale();
    // a device that restarted, or must be restarted, holds nothing of ours any more
    const onLost = () => {
      this.arena = null;
      this.markAllStale();
    };
    client.on('output', onOutput);
    client.on('disconnect', onDisconnect);
    client.on('restarted', onLost);
    client.on('unresponsive', onLost);
    // a connection left behind must not mark what was loaded through its successor stale
    this.unwatch = () => {
      client.off('output', onOutput);
      client.off('disconnect', onDisconnect);
      client.off('restarted', onLost);
      client.off('unresponsive', onLost);
    };
  }

  /**
   * Continues on a new connection to the device (after an unplug, a reboot, a new emulator).
   * What the device still holds — the same allocation with the same code in it — stays loaded;
   * everything else is stale and gets reloaded on its next run. (A new device can have another
   * allocation at the same address and size: only the bytes tell the function is still there.)
   */
  async reconnect(client: DeviceClient): Promise<void> {
    this.unwatch();
    this.current = client;
    this.watch(client);
    this.firmwareChecked = false;
    this.ownImage = null;
    const live = client.has(DeviceCap.ListAllocs) ? await client.listAllocs() : [];
    const holds = (addr: number, size: number) => live.some((a) => a.addr === addr && a.size === size);
    let sameDevice = false;
    for (const fn of this.functions.values()) fn.stale = true; // until its bytes are seen (a read may fail)
    for (const fn of this.functions.values()) {
      const image = this.images.get(fn.key);
      fn.stale = !(image && holds(fn.addr, fn.allocSize) && (await client.read(fn.addr, image.length)).equals(image));
      sameDevice ||= !fn.stale;
    }
    // the arena's bytes identify nothing: keep it only on a device shown to be the same one
    if (this.arena && !(sameDevice && holds(this.arena.addr, this.arena.size))) this.arena = null;
    this.emit('changed');
  }

  get toolchain(): Toolchain {
    return (this.toolchainCache ??= discoverToolchain(this.settings.toolchainPath));
  }

  loaded(): LoadedFunction[] {
    return [...this.functions.values()];
  }

  history(): CallResult[] {
    return [...this.results];
  }

  static key(file: string, name: string): string {
    return `${resolve(file)}::${name}`;
  }

  /** The function name in a key made by key(). */
  static nameOf(key: string): string {
    return key.replace(/.*::/, '');
  }

  /** Assembles `file` on its own (errors as a CompileError); answers the global symbols it defines. */
  assemble(file: string): Promise<AssembledSymbol[]> {
    return assembleFile(file, {
      toolchain: this.toolchain,
      optimization: this.settings.optimization,
      extraFlags: this.settings.extraFlags,
      scratchRoot: ensurePrivateDir(this.settings.buildRoot),
    });
  }

  /** Compiles (or finds in the cache) without touching the device. */
  async build(file: string, name: string): Promise<BuiltFunction> {
    return buildFunction({
      file,
      name,
      buildRoot: this.settings.buildRoot,
      linkFolderSources: this.settings.linkFolderSources,
      linkWith: this.linkedSources.get(resolve(file)),
      maxSlots: this.client.info?.maxArgs,
      build: {
        toolchain: this.toolchain,
        optimization: this.settings.optimization,
        extraFlags: this.settings.extraFlags,
        firmwareElf: this.firmwareElf(),
      },
    });
  }

  /**
   * Hash of the sources a build of `file` reads (the file, and its folder's when those are linked
   * in). Taken before a build: if a file changes during the build, the next call sees a
   * difference and rebuilds rather than trusting code that may be older than the file.
   */
  sourceHash(file: string): string {
    const path = resolve(file);
    const files = [path, ...(this.settings.linkFolderSources ? folderSources(file) : []), ...this.linkedSources.get(path) ?? []];
    const digests = files.map((f) => `${f}\0${this.digests.of(f)}`).join('\0');
    // a call per input asks this every call: the hash is only taken again when a digest changed
    const last = this.sourceHashes.get(path);
    if (last?.digests === digests) return last.hash;
    const hash = createHash('sha256').update(digests).digest('hex');
    this.sourceHashes.set(path, { digests, hash });
    return hash;
  }

  /** True when the function's sources differ from what its loaded code was built from. */
  sourceChanged(fn: LoadedFunction): boolean {
    return this.sourceHash(fn.file) !== fn.sourceHash;
  }

  /**
   * Loads the function (rebuilding when its sources changed), replacing an older version. `linkWith`
   * names further sources to link in; given once, it holds for the file's later loads and rebuilds.
   */
  async load(file: string, name: string, signal?: AbortSignal, linkWith?: readonly string[]): Promise<LoadedFunction> {
    const key = JitSession.key(file, name);
    signal?.throwIfAborted();
    if (linkWith) this.linkedSources.set(resolve(file), linkWith.map((f) => resolve(f)));
    const sourceHash = this.sourceHash(file);
    this.progress({ function: name, step: 'build' });
    const built = await this.build(file, name);
    // the same hash after the build: it is the hash of what was built
    const settled = this.sourceHash(file) === sourceHash;
    const old = this.functions.get(key);
    if (old && !old.stale && old.buildKey === built.key) {
      if (settled) old.sourceHash = sourceHash;
      return old;
    }
    signal?.throwIfAborted();
    this.progress({ function: name, step: 'load' });
    const code = await loadObjects(this.client, built.objects, {
      signal,
      name,
      caps: this.settings.codeCaps,
      build: { toolchain: this.toolchain, buildDir: built.buildDir, firmwareElf: this.firmwareElf() },
      sizeHint: old?.size, // a reload: one link instead of two while the code still fits
    });
    const fn: LoadedFunction = {
      key, name, file: resolve(file), signature: built.signature,
      addr: code.addr, size: code.size, allocSize: code.allocSize, entry: code.entry, elfPath: code.link.elfPath,
      stale: false, buildKey: built.key, sourceHash,
    };
    // the new version replaces the old under its key before the old one is freed: a failed rebuild
    // keeps the working code, and a lookup during the reload finds one version or the other, never none
    this.functions.set(key, fn);
    this.images.set(key, code.link.image);
    if (old) await this.release(old);
    this.emit('changed');
    return fn;
  }

  /** Builds if needed, loads if needed, and calls. */
  async run(file: string, name: string, args: readonly ArgumentInput[], opts: RunOptions = {}): Promise<CallResult> {
    const t0 = performance.now();
    const fn = await this.load(file, name, opts.signal);
    return this.invoke(fn, args, opts, t0);
  }

  /**
   * Calls a function that is already loaded, never as it was when its source changed since the
   * load: that call is refused (SourceChangedError), or with `rebuild` built and reloaded first.
   */
  async call(key: string, args: readonly ArgumentInput[], opts: CallOptions = {}): Promise<CallResult> {
    const fn = this.functions.get(key);
    if (!fn) throw new P4JitError(`no function ${JitSession.nameOf(key)} is loaded`);
    if (fn.stale) throw new P4JitError(`${fn.name} was loaded on a device that has since reset or gone: run it again to reload it`);
    if (this.sourceChanged(fn)) {
      if (!opts.rebuild) throw new SourceChangedError(fn);
      return this.run(fn.file, fn.name, args, opts);
    }
    return this.invoke(fn, args, opts, performance.now());
  }

  async free(key: string): Promise<void> {
    const fn = this.functions.get(key);
    if (!fn) throw new P4JitError(`no function ${JitSession.nameOf(key)} is loaded`);
    await this.forget(fn);
    this.emit('changed');
  }

  async freeAll(): Promise<void> {
    for (const fn of this.functions.values()) await this.forget(fn);
    if (this.arena && this.client.connected) await this.client.free(this.arena.addr).catch(() => undefined);
    this.arena = null;
    this.emit('changed');
  }

  /** The device lost its memory (unplugged, reset, emulator gone): nothing loaded may be called. */
  markAllStale(): void {
    // (the argument arena is kept: reconnect() checks whether the device still has it)
    for (const fn of this.functions.values()) fn.stale = true;
    this.firmwareChecked = false;
    this.ownImage = null;
    this.emit('changed');
  }

  heap() {
    return this.client.heapInfo();
  }

  /** The device's allocation table, each entry with the function owning it. */
  async allocations(): Promise<AllocationView[]> {
    const list = this.client.has(DeviceCap.ListAllocs) ? await this.client.listAllocs() : [];
    return list.map((a) => {
      const fn = [...this.functions.values()].find((f) => !f.stale && f.addr === a.addr);
      return { ...a, owner: fn ? fn.name : this.arena?.addr === a.addr ? 'arguments' : null };
    });
  }

  /** The function's machine code with its source lines; paths relative to `relativeTo` (default: the source's folder). */
  async disassembly(key: string, relativeTo?: string): Promise<string> {
    const fn = this.functions.get(key);
    if (!fn) throw new P4JitError(`no function ${JitSession.nameOf(key)} is loaded`);
    const objdump = await disassemble(this.toolchain, fn.elfPath);
    const files = new Map<string, string[] | undefined>();
    const sourceLine = (path: string, line: number) => {
      if (!files.has(path)) files.set(path, existsSync(path) ? readFileSync(path, 'utf8').split('\n') : undefined);
      return files.get(path)?.[line - 1];
    };
    return disassemblyView(objdump, { relativeTo: relativeTo ?? dirname(fn.file), function: fn.name, address: fn.entry, sourceLine });
  }

  // ---- internals ----

  /**
   * The firmware ELF JIT code links against: the configured one (checked against the device's),
   * else, on an emulator running this package's own image (as `p4jit emulator` starts it), that image.
   */
  private firmwareElf(): string | undefined {
    const elf = this.settings.firmwareElf;
    const info = this.client.info;
    if (elf && !this.firmwareChecked && info) {
      checkFirmwareElf(elf, info.board, info.firmwareId);
      this.firmwareChecked = true;
    }
    if (elf || info?.board !== EMULATOR_BOARD) return elf;
    if (this.ownImage === null) this.ownImage = builtImageMatching(info.firmwareId);
    return this.ownImage;
  }

  private async forget(fn: LoadedFunction): Promise<void> {
    this.functions.delete(fn.key);
    this.images.delete(fn.key);
    await this.release(fn);
  }

  /** Frees a version's code on the device (best effort: the device may be gone). */
  private async release(fn: LoadedFunction): Promise<void> {
    if (!fn.stale && this.client.connected) await this.client.free(fn.addr).catch(() => undefined);
  }

  private progress(p: Progress): void {
    this.emit('progress', p);
  }

  /**
   * Refuses arrays that cannot fit in the device heap before they are built or sent (a list of
   * 16 million values would otherwise take seconds and hundreds of MB on the host to end in
   * ALLOC_FAIL).
   */
  private checkRoom(fn: LoadedFunction, args: readonly ArgumentInput[], opts: RunOptions): Promise<void> | undefined {
    const sizes = measureInputs(args, fn.signature, { baseDir: opts.baseDir });
    const bytes = arenaBytesFor(sizes);
    // undefined, not a resolved promise, when the device need not be asked: a call per input awaits nothing here
    if (!sizes.some((s) => s.kind === 'array') || (this.arena && this.arena.size >= bytes)) return undefined;
    return this.client.heapInfo().then((heap) => {
      const problem = roomProblem(sizes, arenaSize(bytes), heap, this.settings.dataCaps, this.arena?.size ?? 0);
      if (problem) throw new P4JitError(problem);
    });
  }

  private async ensureArena(bytes: number): Promise<number> {
    if (this.arena && this.arena.size >= bytes) return this.arena.addr;
    if (this.arena) await this.client.free(this.arena.addr).catch(() => undefined);
    this.arena = null;
    const size = arenaSize(bytes);
    this.arena = { addr: await this.client.alloc(size, this.settings.dataCaps, 16), size };
    return this.arena.addr;
  }

  /**
   * Writes the arguments' image, leaving out the pieces the device holds already: those the last
   * call's read-back found there, with nothing written or run since (an output array passed again
   * holds what came back, so a loop over blocks moves its input up and its output down, once each).
   */
  private async uploadArguments(base: number, image: Buffer, signal?: AbortSignal): Promise<void> {
    const known = this.readBack?.client === this.client && this.readBack.epoch === this.client.memoryEpoch ? this.readBack : null;
    this.readBack = null;
    for (const [from, to] of changedRanges(base, image, known)) await this.client.write(base + from, image.subarray(from, to), { signal });
  }

  private async invoke(fn: LoadedFunction, args: readonly ArgumentInput[], opts: RunOptions, t0: number): Promise<CallResult> {
    const room = this.checkRoom(fn, args, opts);
    if (room) await room;
    let marshalled: MarshalledArguments = marshalArguments(fn.signature, args, { baseDir: opts.baseDir });
    const signal = opts.signal;
    let output = '';
    const onOutput = (text: string) => { output += text; };
    this.client.on('output', onOutput);
    // one object of one shape, filled in below (a call per input builds no copies)
    const result: CallResult = {
      id: this.nextId++, function: fn.name, file: fn.file, args: marshalled.records, at: new Date().toISOString(),
      counter: this.client.info ? counterKind(this.client.info) : 'cycles', kinds: marshalled.kinds,
      returnValue: null, returnDisplay: '', count: null, timeUs: null, hostMs: 0, output: '', arrays: {}, fault: null, overrun: null,
    };
    try {
      if (marshalled.arenaBytes > 0) {
        signal?.throwIfAborted();
        const arena = await this.ensureArena(marshalled.arenaBytes);
        this.progress({ function: fn.name, step: 'upload-arguments', bytes: marshalled.arenaImage.length });
        marshalled = marshalled.place(arena, this.arena!.size); // at the arena's end, against its guard
        await this.uploadArguments(marshalled.base, marshalled.arenaImage, signal);
      }
      try {
        signal?.throwIfAborted();
        const timeLimitMs = opts.timeLimitMs ?? this.settings.callTimeLimitMs;
        this.progress({ function: fn.name, step: 'call', timeLimitMs: timeLimitMs || (this.client.info?.defaultCallMs ?? 0) });
        // not cancelled once running: the device ends it at its time limit
        const reply = await this.client.call(fn.entry, marshalled.slots, { timeLimitMs });
        if (marshalled.copyBack.length) {
          this.progress({ function: fn.name, step: 'read-back', bytes: marshalled.copyBackBytes });
          // the epoch before the read: a request queued while it runs (after it) makes the bytes unknown
          const epoch = this.client.memoryEpoch;
          const span = await this.client.read(marshalled.copyBackStart, marshalled.copyBackBytes);
          if (this.client.memoryEpoch === epoch) this.readBack = { client: this.client, epoch, addr: marshalled.copyBackStart, bytes: span };
          result.arrays = marshalled.readBack(span);
          const gap = marshalled.damagedInCopyBack(span)[0];
          if (gap) result.overrun = gapOverrun(fn.name, gap);
        }
        const ret = marshalled.decodeReturn(reply.ret);
        result.returnValue = ret.value;
        result.returnDisplay = ret.display;
        result.count = reply.cycles;
        result.timeUs = reply.timeUs;
      } catch (e) {
        if (!(e instanceof DeviceError) || (e.code !== Err.FAULT && e.code !== Err.TIMEOUT && e.code !== Err.OVERRUN)) throw e;
        const fault = e.code === Err.OVERRUN ? null : await describeFault(e, fn, this.toolchain, addressFrames);
        const record = overrunRecord(e.code, e.detail);
        const placed = marshalled;
        result.overrun = record && await deviceOverrun(record, {
          fn, others: this.loaded().filter((f) => f !== fn && !f.stale), arena: this.arena, marshalled: placed,
          readImage: () => this.client.read(placed.base, placed.arenaBytes).catch(() => null),
        });
        result.fault = fault;
        result.returnDisplay = fault ? (fault.kind === 'timeout' ? 'timed out' : 'fault') : 'overrun';
      }
    } finally {
      this.client.off('output', onOutput);
    }
    result.hostMs = performance.now() - t0;
    result.output = output;
    fn.lastResult = result;
    this.results.unshift(result);
    this.results.length = Math.min(this.results.length, HISTORY_LIMIT);
    this.emit('changed');
    return result;
  }
}

/** Small arenas grow by powers of two (a growing array reuses them); large ones are not doubled past what fits. */
function arenaSize(bytes: number): number {
  return bytes <= ARENA_POW2_MAX ? Math.max(ARENA_MIN, 2 ** Math.ceil(Math.log2(bytes))) : Math.ceil(bytes / 65536) * 65536;
}
