// Arrays from data files, for pointer arguments given as `@file`: .json (a list, nested lists read
// row by row), .npy (NumPy's format; its dtype must be the pointer's element type), .csv (one
// number per field) and raw little-endian binary (.bin, .raw; the element type from the C
// signature). Pure Node, no vscode: the CLI, the VS Code argument prompts and scripts share it.
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';

import { KINDS, type ElementKind } from './ctypes.js';
import { parseScalar, type JsValue } from './number-text.js';
import { wavElements } from './wav.js';
import { InputError } from './errors.js';

/** What a file holds: parsed values (text formats) or the elements' bytes, little-endian (binary formats). */
export type ArrayFileContent = { values: JsValue[] } | { data: Buffer };

export type DataFormat = 'json' | 'npy' | 'csv' | 'raw' | 'wav';

const FORMATS: Record<string, DataFormat> = { '.json': 'json', '.npy': 'npy', '.csv': 'csv', '.bin': 'raw', '.raw': 'raw', '.wav': 'wav' };

/**
 * `@` then a path names a data file; `@` then a number (`@0x82001000`, `@2147483648`) is a device
 * address. A file whose name starts with a digit is reached as `@./0x1.bin`.
 */
export function isFileReference(text: string): boolean {
  return /^@/.test(text) && !/^@\s*[+-]?\d/.test(text);
}

/** The format a data file is read as, from its extension. */
export function dataFormat(path: string): DataFormat {
  const ext = extname(path).toLowerCase();
  const format = FORMATS[ext];
  if (!format) {
    throw new InputError(`${basename(path)}: unknown data file type${ext ? ` '${ext}'` : ''}: use .json, .npy, .csv, .wav, or .bin/.raw (raw little-endian elements)`);
  }
  return format;
}

/** Reads the elements of `element` type (`typeText` names it in messages) from a data file. */
export function readArrayFile(path: string, element: ElementKind, typeText: string): ArrayFileContent {
  const name = basename(path);
  const format = dataFormat(path);
  const bytes = readData(path);
  switch (format) {
    case 'npy': {
      const h = npyHeader(bytes, name, element, typeText, bytes.length);
      const data = bytes.subarray(h.dataOffset);
      if (h.bigEndian) swapBytes(data, KINDS[element].size);
      return { data: checkBools(data, element, name) };
    }
    case 'raw':
      rawCount(bytes.length, name, element);
      return { data: checkBools(bytes, element, name) };
    case 'wav':
      return { data: wavElements(bytes, name, element, typeText) };
    case 'csv':
      return { values: csvValues(bytes.toString('utf8'), name, element, typeText) };
    case 'json':
      return { values: jsonValues(bytes.toString('utf8'), name, element, typeText) };
  }
}

/**
 * How many elements a data file holds, reading no more than needed: the header of an .npy, the
 * size of a raw file; a text file is parsed (and so checked).
 */
export function arrayFileCount(path: string, element: ElementKind, typeText: string): number {
  const name = basename(path);
  const format = dataFormat(path);
  if (format === 'npy') {
    const size = fileSize(path);
    return npyHeader(readHead(path, NPY_HEAD_MAX), name, element, typeText, size).count;
  }
  if (format === 'raw') return rawCount(fileSize(path), name, element);
  const content = readArrayFile(path, element, typeText);
  return 'values' in content ? content.values.length : content.data.length / KINDS[element].size;
}

/** The element type an .npy file holds (its dtype), for reading it without a C signature. */
export function npyElementKind(path: string): ElementKind {
  const name = basename(path);
  const head = readHead(path, NPY_HEAD_MAX);
  if (head.length < 10 || !head.subarray(0, 6).equals(NPY_MAGIC)) throw new InputError(`${name} is not an .npy file (it does not start with \\x93NUMPY)`);
  const descr = /['"]descr['"]\s*:\s*['"][<>|=]?([a-zA-Z]\d+)['"]/.exec(head.toString('latin1'))?.[1] ?? '';
  const kind = (Object.keys(NPY_CODES) as ElementKind[]).find((k) => NPY_CODES[k] === descr);
  if (!kind) throw new InputError(`${name} holds ${NPY_NAMES[descr] ?? `'${descr}'`} values, which no C element type here matches (use int8 to int64, uint8 to uint64, bool, float32 or float64)`);
  return kind;
}

// ---- files ----

function readData(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputError(fileProblem(path, e));
  }
}

function fileSize(path: string): number {
  try {
    const st = statSync(path);
    if (!st.isFile()) throw Object.assign(new InputError(''), { code: 'EISDIR' });
    return st.size;
  } catch (e) {
    throw new InputError(fileProblem(path, e));
  }
}

function readHead(path: string, max: number): Buffer {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(max);
    return buf.subarray(0, readSync(fd, buf, 0, max, 0));
  } catch (e) {
    throw new InputError(fileProblem(path, e));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function fileProblem(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
  return `cannot read data file ${path}: ${why}`;
}

// ---- raw ----

function rawCount(size: number, name: string, element: ElementKind): number {
  const k = KINDS[element];
  if (size === 0) throw new InputError(`${name} is empty: the function would get a pointer to nothing`);
  if (size % k.size !== 0) {
    throw new InputError(`${name} has ${size} bytes, not a whole number of ${k.size}-byte ${k.name} elements (truncated, or another element type?)`);
  }
  return size / k.size;
}

function checkBools(data: Buffer, element: ElementKind, name: string): Buffer {
  if (element === 'bool') {
    const bad = data.findIndex((b) => b > 1);
    if (bad >= 0) throw new InputError(`${name}: element ${bad} is ${data[bad]}, not a bool (0 or 1)`);
  }
  return data;
}

// ---- .npy (format versions 1.0, 2.0, 3.0) ----

/** Enough bytes for any header a real .npy has (NumPy pads them to 64 bytes; this allows 1000 dimensions). */
const NPY_HEAD_MAX = 64 * 1024;
const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/** NumPy's dtype codes, kind letter and size, for each element type. */
const NPY_CODES: Record<ElementKind, string> = {
  i8: 'i1', u8: 'u1', i16: 'i2', u16: 'u2', i32: 'i4', u32: 'u4', i64: 'i8', u64: 'u8', bool: 'b1', f32: 'f4', f64: 'f8',
};
const NPY_NAMES: Record<string, string> = {
  i1: 'int8', u1: 'uint8', i2: 'int16', u2: 'uint16', i4: 'int32', u4: 'uint32', i8: 'int64', u8: 'uint64', b1: 'bool', f2: 'float16', f4: 'float32', f8: 'float64',
};

interface NpyHeader {
  count: number;
  dataOffset: number;
  bigEndian: boolean;
}

/** Parses and checks an .npy header; `size` is the whole file's size (the data must fill it exactly). */
function npyHeader(head: Buffer, name: string, element: ElementKind, typeText: string, size: number): NpyHeader {
  if (head.length < 10 || !head.subarray(0, 6).equals(NPY_MAGIC)) throw new InputError(`${name} is not an .npy file (it does not start with \\x93NUMPY)`);
  const major = head[6];
  if (major < 1 || major > 3) throw new InputError(`${name}: .npy format version ${major}.${head[7]} is not supported (1.0 to 3.0 are)`);
  const lenBytes = major === 1 ? 2 : 4;
  const start = 8 + lenBytes;
  const headerLen = major === 1 ? head.readUInt16LE(8) : head.readUInt32LE(8);
  if (head.length < start + headerLen) throw new InputError(`${name} is truncated inside its .npy header`);
  const dict = head.subarray(start, start + headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(dict)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(dict)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(dict)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined || !/^\s*\{[\s\S]*\}\s*$/.test(dict)) {
    throw new InputError(`${name}: malformed .npy header (expected 'descr', 'fortran_order' and 'shape'): ${dict.trim().slice(0, 120)}`);
  }
  const dims = shapeText.split(',').map((s) => s.trim()).filter(Boolean);
  if (!dims.every((d) => /^\d+L?$/.test(d))) throw new InputError(`${name}: malformed .npy shape (${shapeText})`);
  const shape = dims.map((d) => Number(d.replace(/L$/, '')));
  const dtype = /^([<>|=]?)([a-zA-Z]\d+)$/.exec(descr);
  const want = NPY_CODES[element];
  if (!dtype || dtype[2] !== want) {
    const held = dtype ? (NPY_NAMES[dtype[2]] ?? `'${descr}'`) : `'${descr}'`;
    throw new InputError(`${name} holds ${held} values (dtype '${descr}'), but '${typeText} *' takes ${NPY_NAMES[want]}: ` +
      `save it as ${NPY_NAMES[want]} (e.g. np.save(path, x.astype(np.${NPY_NAMES[want] === 'bool' ? 'bool_' : NPY_NAMES[want]})))`);
  }
  if (fortran === 'True' && shape.filter((d) => d > 1).length > 1) {
    throw new InputError(`${name} is stored in Fortran (column-major) order: save np.ascontiguousarray(x) instead`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count === 0) throw new InputError(`${name} holds no elements (shape (${shapeText})): the function would get a pointer to nothing`);
  const itemSize = KINDS[element].size;
  const dataOffset = start + headerLen;
  const expected = count * itemSize;
  const present = size - dataOffset;
  if (present < expected) {
    throw new InputError(`${name} is truncated: its header promises ${count} ${NPY_NAMES[want]} values (${expected} bytes) but ${Math.max(present, 0)} bytes follow`);
  }
  if (present > expected) throw new InputError(`${name} has ${present - expected} bytes after its ${count} values: not a single .npy array`);
  return { count, dataOffset, bigEndian: dtype[1] === '>' && itemSize > 1 };
}

function swapBytes(data: Buffer, size: number): void {
  if (size === 2) data.swap16();
  else if (size === 4) data.swap32();
  else if (size === 8) data.swap64();
}

// ---- text formats ----

function parseField(text: string, element: ElementKind, typeText: string, where: () => string): JsValue {
  try {
    return parseScalar(text, element, typeText);
  } catch (e) {
    throw new InputError(`${where()}: ${(e as Error).message}`);
  }
}

/** CSV: one number per field, any number of fields per line; blank lines are skipped. */
function csvValues(text: string, name: string, element: ElementKind, typeText: string): JsValue[] {
  const values: JsValue[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, l) => {
    if (line.trim() === '') return;
    line.split(',').forEach((field, f) => {
      const where = () => `${name} line ${l + 1}, field ${f + 1}`;
      if (field.trim() === '') throw new InputError(`${where()} is empty (one number per field)`);
      values.push(parseField(field.trim(), element, typeText, where));
    });
  });
  if (values.length === 0) throw new InputError(`${name} holds no numbers: the function would get a pointer to nothing`);
  return values;
}

/**
 * JSON: a list of numbers (true/false for bool), nested lists read row by row. Each number is
 * read from its own text, so 64-bit integers stay exact.
 */
function jsonValues(text: string, name: string, element: ElementKind, typeText: string): JsValue[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${name} is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(doc)) throw new InputError(`${name} must hold a list of numbers, e.g. [1, 2, 3]`);
  const check = (v: unknown, path: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => check(x, `${path}[${i}]`));
    else if (typeof v !== 'number' && typeof v !== 'boolean') throw new InputError(`${name}${path} is ${v === null ? 'null' : `a ${typeof v}`}, not a number`);
  };
  check(doc, '');
  // only numbers, booleans and brackets are left: their texts in order are the flattened list
  const tokens = text.match(/-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|true|false/g) ?? [];
  if (tokens.length === 0) throw new InputError(`${name} holds an empty list: the function would get a pointer to nothing`);
  return tokens.map((t, i) => parseField(t, element, typeText, () => `${name} element ${i}`));
}
