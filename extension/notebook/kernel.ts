/**
 * The P4-JIT notebook kernel, free of vscode: it runs cells in order against one device.
 *   - A C (or C++) cell is compiled and every non-static function it defines is loaded; each becomes
 *     a callable of that name in the script cells, and the cell shows where each one lives.
 *   - An assembly cell is assembled on its own (its errors are the cell's) and linked into the
 *     functions of every C cell run after it, which call its global symbols by a C declaration.
 *   - A JavaScript or TypeScript cell runs with top-level await in the notebook's own context, with
 *     `p4` (the public Device API), the loaded functions, `plot`, `scatter`, `images`, the seeded
 *     generators and the data readers; what it prints, plots, returns or throws becomes its output.
 * The VS Code controller and the Node tests drive the same kernel.
 */
import { createHash } from 'node:crypto';
import { inspect, format } from 'node:util';

import type { CallOptions, CallOutcome, Device, JitFunction } from '../api/device.js';
import { CompileError } from '../../toolchain/build.js';
import { parseFunctions } from '../../toolchain/signature.js';
import type { ArgumentInput } from '../../toolchain/value-args.js';
import { describeResult } from '../session/format.js';
import type { PlotSpec } from '../../webview/plot/spec.js';
import { cellScript, SCOPE_READER } from './cell-script.js';
import { DataFiles, generators } from './data.js';
import { ASSEMBLY_LANGUAGES, SCRIPT_LANGUAGES } from './languages.js';
import { imageGrid, linePlot, scatterPlot } from './plots.js';
import { P4JitError } from '../util/errors.js';

/** A function a C cell loaded, as its output lists it. */
export interface LoadedEntry {
  name: string;
  signature: string;
  address: number;
  size: number;
}

export type CellOutput =
  | { kind: 'stdout'; text: string }
  | { kind: 'stderr'; text: string }
  | { kind: 'plot'; spec: PlotSpec }
  | { kind: 'loaded'; functions: LoadedEntry[] }
  | { kind: 'value'; text: string }
  | { kind: 'error'; name: string; message: string; stack?: string };

export interface KernelOptions {
  /** The notebook's folder: data files and paths in cells are relative to it. */
  baseDir: string;
  /** Names the notebook (its path or URI), so two notebooks' cell files never collide. */
  notebookId: string;
  /** The device to use, asked for at each cell (a lost device's reconnection is picked up). */
  device: () => Promise<Device>;
}

export class NotebookKernel {
  /** The notebook's names: the kernel's helpers, then what cells declared (parameters of the next cell). */
  private readonly scope = new Map<string, unknown>();
  private readonly data: DataFiles;
  /** Function names each C cell loaded, so a cell run again frees what it no longer defines. */
  private readonly cellFunctions = new Map<string, Set<string>>();
  private readonly functions = new Map<string, JitFunction>();
  /** The assembly cells' files, by cell: linked into every C cell's functions. */
  private readonly assemblyCells = new Map<string, string>();
  private emit: (output: CellOutput) => void = () => undefined;
  private signal: AbortSignal | undefined;
  private device: Device | undefined;

  constructor(private readonly options: KernelOptions) {
    this.data = new DataFiles(options.baseDir);
    for (const [name, value] of Object.entries(this.helpers())) this.scope.set(name, value);
  }

  /**
   * Runs one cell; `emit` receives its outputs as they happen. Resolves true when it ran to the end,
   * false when it failed (the error is an output) or was interrupted through `signal`.
   */
  async run(cell: { id: string; source: string; language: string; label?: string }, emit: (output: CellOutput) => void, signal?: AbortSignal): Promise<boolean> {
    this.emit = emit;
    this.signal = signal;
    try {
      const work = cell.language === 'c' || cell.language === 'cpp'
        ? this.runNative(cell.id, cell.source, cell.language)
        : ASSEMBLY_LANGUAGES.has(cell.language)
          ? this.runAssembly(cell.id, cell.source)
          : this.runScript(cell.label ?? cell.id, cell.source, cell.language);
      await whileNotAborted(work, signal);
      return true;
    } catch (e) {
      emit(errorOutput(e));
      return false;
    }
  }

  /** Frees everything the notebook loaded and allocated on the device (the device stays open). */
  async dispose(): Promise<void> {
    const device = this.device;
    this.device = undefined;
    this.functions.clear();
    this.cellFunctions.clear();
    this.assemblyCells.clear();
    if (device?.session.client.connected) await device.freeAll().catch(() => undefined);
  }

  private async useDevice(): Promise<Device> {
    const device = await this.options.device();
    this.device = device;
    return device;
  }

  private async runNative(cellId: string, source: string, language: 'c' | 'cpp'): Promise<void> {
    const defined = (await parseFunctions(source, undefined, { language: language === 'cpp' ? 'c++' : 'c' }))
      .filter((f) => !f.isStatic && !(f.isInline && !f.isExtern));
    const device = await this.useDevice();
    const fileName = this.cellFileName(cellId, language === 'cpp' ? 'cpp' : 'c');
    const link = [...this.assemblyCells.values()];
    const before = this.cellFunctions.get(cellId) ?? new Set<string>();
    const now = new Set<string>();
    const loaded: LoadedEntry[] = [];
    for (const f of defined) {
      this.signal?.throwIfAborted();
      const fn = await device.loadSource(source, f.name, { fileName, link }).catch((e) => { throw cellCompileError(e, fileName); });
      now.add(f.name);
      this.functions.set(f.name, fn);
      this.scope.set(f.name, this.callable(fn));
      loaded.push({ name: f.name, signature: fn.signature, address: fn.address, size: fn.size });
    }
    for (const gone of before) {
      if (now.has(gone)) continue;
      await this.functions.get(gone)?.free().catch(() => undefined);
      this.functions.delete(gone);
      this.scope.delete(gone);
    }
    this.cellFunctions.set(cellId, now);
    if (!defined.length) this.emit({ kind: 'stdout', text: 'This cell defines no function to load (static and inline ones are helpers, compiled into the functions that call them).\n' });
    else this.emit({ kind: 'loaded', functions: loaded });
  }

  /** Assembles the cell; C cells run after it link it (an edited cell takes effect when they run again). */
  private async runAssembly(cellId: string, source: string): Promise<void> {
    const fileName = this.cellFileName(cellId, 'S');
    const device = await this.useDevice();
    const file = device.sourceFile(source, fileName);
    const symbols = await device.assemble(file).catch((e) => { throw cellCompileError(e, fileName, 'the cell does not assemble'); });
    this.assemblyCells.set(cellId, file);
    const names = symbols.map((s) => (s.size ? `${s.name} (${s.size} bytes)` : s.name));
    this.emit({
      kind: 'stdout',
      text: names.length
        ? `Assembled ${names.join(', ')}: C cells run after this one are linked with it and call it through a C declaration.\n`
        : 'Assembled, but the cell makes no symbol global (.globl name), so no C cell can call it.\n',
    });
  }

  /** The file a cell's code is written to: named by the notebook and the cell, so none collide. */
  private cellFileName(cellId: string, extension: string): string {
    return `nb-${createHash('sha256').update(this.options.notebookId).digest('hex').slice(0, 12)}-${cellId.replace(/[^\w-]/g, '_')}.${extension}`;
  }

  private async runScript(label: string, source: string, language: string): Promise<void> {
    if (!SCRIPT_LANGUAGES.has(language)) {
      throw new P4JitError(`a ${language} cell cannot run on P4-JIT: use C, C++ or RISC-V assembly for device code, JavaScript or TypeScript for the host side`);
    }
    const names = [...this.scope.keys()];
    const body = cellScript(source, language, names);
    const run = new AsyncFunction(...names, SCOPE_READER, `${body}\n//# sourceURL=${CELL_URL}${label.replace(/[^\w-]/g, '_')}`);
    let read: (() => Record<string, unknown>) | undefined;
    try {
      const value = await run(...names.map((n) => this.scope.get(n)), (reader: typeof read) => { read = reader; });
      if (value !== undefined) this.emit({ kind: 'value', text: describeValue(value) });
    } finally {
      for (const [name, value] of Object.entries(read?.() ?? {})) this.scope.set(name, value);
    }
  }

  /** A loaded function as cells call it: `fir(x, y, n)`, stopped between steps by an interrupt. */
  private callable(fn: JitFunction): JitFunction {
    const call = (args: readonly ArgumentInput[], options: CallOptions = {}): Promise<CallOutcome> => fn.call(args, { signal: this.signal, ...options });
    const f = ((...args: ArgumentInput[]) => call(args)) as JitFunction;
    for (const key of ['file', 'address', 'size', 'signature'] as const) Object.defineProperty(f, key, { get: () => fn[key], enumerable: true });
    Object.defineProperties(f, { name: { value: fn.name }, call: { value: call }, disassembly: { value: () => fn.disassembly() }, free: { value: () => fn.free() } });
    return f;
  }

  private helpers(): Record<string, unknown> {
    const kernel = this;
    const show = (spec: PlotSpec) => { kernel.emit({ kind: 'plot', spec }); };
    const write = (kind: 'stdout' | 'stderr') => (...args: unknown[]) => kernel.emit({ kind, text: `${format(...args)}\n` });
    const plot = Object.assign((...args: Parameters<typeof linePlot>) => show(linePlot(...args)), {
      scatter: (...args: Parameters<typeof scatterPlot>) => show(scatterPlot(...args)),
      images: (...args: Parameters<typeof imageGrid>) => show(imageGrid(...args)),
    });
    return {
      console: { log: write('stdout'), info: write('stdout'), debug: write('stdout'), warn: write('stderr'), error: write('stderr'), table: write('stdout') },
      p4: this.lazyDevice(),
      display: (value: unknown): void => { kernel.emit({ kind: 'value', text: describeValue(value) }); },
      plot, scatter: plot.scatter, images: plot.images,
      ...generators,
      readWav: (file: string) => kernel.data.readWav(file),
      readNpy: (file: string) => kernel.data.readNpy(file),
      readCsv: (file: string, type?: string) => kernel.data.readCsv(file, type),
      readJson: (file: string, type?: string) => kernel.data.readJson(file, type),
      readRaw: (file: string, type?: string) => kernel.data.readRaw(file, type),
    };
  }

  /**
   * `p4` in a cell: the public API's Device (load, loadSource, buffer, heap, allocations, freeAll),
 * connected at its first use, so a notebook of host code alone never starts a device.
   */
  private lazyDevice(): Device {
    return new Proxy({} as Device, {
      get: (_, prop: keyof Device) => {
        if (this.device) {
          const value = this.device[prop];
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(this.device) : value;
        }
        return async (...args: unknown[]) => {
          const device = await this.useDevice();
          const member = device[prop];
          if (typeof member !== 'function') throw new P4JitError(`p4.${String(prop)} is not a method`);
          return (member as (...a: unknown[]) => unknown).apply(device, args);
        };
      },
    });
  }
}

const AsyncFunction = (async () => undefined).constructor as new (...params: string[]) => (...args: unknown[]) => Promise<unknown>;
/** Where a cell's code says it comes from, in stack traces ("at p4jit-cell:c04:7:3"). */
const CELL_URL = 'p4jit-cell:';
/** Lines before a cell's first in the function: two of the Function constructor's, one of cellScript's. */
const CELL_LINE_OFFSET = 3;

/** Rejects as soon as `signal` aborts (the abandoned work ends on its own: a running call at its time limit). */
function whileNotAborted<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new InterruptedError());
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export class InterruptedError extends P4JitError {
  override name = 'Interrupted';
  constructor() {
    super('interrupted: a call already running on the device ends at its time limit; the next one is not started');
  }
}

function describeValue(value: unknown): string {
  const outcome = value as Partial<CallOutcome> | null;
  if (outcome && typeof outcome === 'object' && outcome.result && 'returnDisplay' in outcome.result) return describeResult(outcome.result);
  return inspect(value, { depth: 3, maxArrayLength: 64, breakLength: 100 });
}

/** GCC's diagnostics as the cell's: its lines are the cell's lines, the generated wrapper is not shown. */
function cellCompileError(e: unknown, fileName: string, message = 'the cell does not compile'): unknown {
  if (!(e instanceof CompileError)) return e;
  const ownFile = new RegExp(`\\S*${fileName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'g');
  const lines = e.diagnostics.split('\n')
    .filter((l) => !/p4jit_entry|^In file included from|^\s+from /.test(l))
    .map((l) => l.replace(ownFile, 'cell'));
  return new CompileError(message, lines.join('\n').trim());
}

function errorOutput(e: unknown): CellOutput {
  if (e instanceof CompileError) return { kind: 'error', name: 'CompileError', message: `${e.message}:\n${e.diagnostics}` };
  if (e instanceof Error || (e && typeof e === 'object' && 'message' in e)) {
    const err = e as Error;
    // the stack inside the kernel says nothing to the user; a cell's own frames are kept, with the
    // cell's line numbers (see CELL_LINE_OFFSET)
    const stack = err.stack?.split('\n')
      .filter((l, i) => i === 0 || l.includes(CELL_URL))
      .map((l) => l.replace(/p4jit-cell:([^:]+):(\d+):(\d+)/g, (_, cell: string, line: string, col: string) => `cell ${cell}, line ${Number(line) - CELL_LINE_OFFSET}:${col}`)
        .replace(/at eval \((cell [^)]*)\)/, 'at $1'))
      .join('\n');
    return { kind: 'error', name: err.name || 'Error', message: err.message, stack };
  }
  return { kind: 'error', name: 'Error', message: `a cell threw ${inspect(e)}` };
}
