/**
 * Data for notebooks and scripts: readers that give typed arrays ready to pass to a device function
 * (.wav through toolchain/wav.ts; .npy, .csv, .json and raw binary through the same readers
 * the argument prompts use) and the seeded generators (range, linspace, sine, noise, …) as plain
 * functions. Pure Node: a Node script can import it too.
 */
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';

import { npyElementKind, readArrayFile } from '../../toolchain/array-input.js';
import { KINDS, type ElementKind } from '../../toolchain/ctypes.js';
import { GENERATOR_NAMES, makeGenerator } from '../../toolchain/generators.js';
import { decodeWav, type WavData } from '../../toolchain/wav.js';
import { InputError } from '../../toolchain/errors.js';

export type { WavData };

export type NumericArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

/** The C element types a reader can be asked for, by the names users write. */
const TYPE_NAMES: Record<string, ElementKind> = {
  int8: 'i8', uint8: 'u8', int16: 'i16', uint16: 'u16', int32: 'i32', uint32: 'u32', int64: 'i64', uint64: 'u64',
  bool: 'bool', float32: 'f32', float: 'f32', float64: 'f64', double: 'f64',
};

const ARRAYS: Record<ElementKind, new (n: number) => NumericArray> = {
  i8: Int8Array, u8: Uint8Array, i16: Int16Array, u16: Uint16Array, i32: Int32Array, u32: Uint32Array,
  i64: BigInt64Array, u64: BigUint64Array, bool: Uint8Array, f32: Float32Array, f64: Float64Array,
};

function elementKind(type: string): ElementKind {
  const kind = TYPE_NAMES[type];
  if (!kind) throw new InputError(`unknown element type '${type}': use ${Object.keys(TYPE_NAMES).join(', ')}`);
  return kind;
}

/** Reads data files relative to `baseDir` (a notebook's folder). */
export class DataFiles {
  constructor(private readonly baseDir: string) {}

  path(file: string): string {
    return resolve(this.baseDir, file);
  }

  /** A PCM (8 to 32 bit) or float .wav file, as float32 samples in [-1, 1]. */
  readWav(file: string): WavData {
    const path = this.path(file);
    return decodeWav(readBytes(path), basename(path));
  }

  /** An .npy array as the typed array of its dtype (float32 → Float32Array, int8 → Int8Array, …). */
  readNpy(file: string): NumericArray {
    const path = this.path(file);
    return this.read(path, npyElementKind(path));
  }

  /** A .csv file (one number per field) as `type` elements. */
  readCsv(file: string, type = 'float32'): NumericArray {
    return this.read(this.path(file), elementKind(type));
  }

  /** A .json list of numbers (nested lists row by row) as `type` elements. */
  readJson(file: string, type = 'float32'): NumericArray {
    return this.read(this.path(file), elementKind(type));
  }

  /** Raw little-endian `type` elements (a .bin or .raw file). */
  readRaw(file: string, type = 'float32'): NumericArray {
    return this.read(this.path(file), elementKind(type));
  }

  private read(path: string, kind: ElementKind): NumericArray {
    const content = readArrayFile(path, kind, KINDS[kind].name);
    if ('data' in content) {
      const out = new ARRAYS[kind](content.data.length / KINDS[kind].size);
      new Uint8Array(out.buffer).set(content.data);
      return out;
    }
    const out = new ARRAYS[kind](content.values.length);
    content.values.forEach((v, i) => { (out as unknown as unknown[])[i] = typeof v === 'boolean' ? Number(v) : v; });
    return out;
  }
}

function readBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

type GeneratorFn = (...args: number[]) => Float32Array;

/** range, linspace, zeros, ones, sine, noise, random: seeded, as Float32Array (the DSP element type). */
export const generators: Record<string, GeneratorFn> = Object.fromEntries(GENERATOR_NAMES.map((name) => [
  name,
  (...args: number[]) => Float32Array.from(makeGenerator(name, args).values()),
]));
