/**
 * A copied-back array as a file: NumPy's .npy (exact binary, the element type kept), .csv (one value
 * a line under the parameter's name) or .json (a list). Text formats print float32 values as
 * float32 (format.ts), so every value reads back to the one the device computed.
 */
import { encodeArray, type JsValue } from '../../toolchain/args.js';
import type { ElementKind } from '../../toolchain/ctypes.js';
import { formatValue, jsonArray } from './format.js';

export type ArrayFormat = 'npy' | 'csv' | 'json';

export const ARRAY_FORMATS: readonly ArrayFormat[] = ['npy', 'csv', 'json'];

/** NumPy dtype of each element kind (little-endian, as on the device). */
const NPY_DTYPE: Record<ElementKind, string> = {
  i8: '|i1', u8: '|u1', i16: '<i2', u16: '<u2', i32: '<i4', u32: '<u4', i64: '<i8', u64: '<u8',
  bool: '|b1', f32: '<f4', f64: '<f8',
};

/**
 * The .npy file of a 1-D array (format version 1.0: magic, version, a little-endian u16 header
 * length, then a Python dict literal padded with spaces and a newline so the data starts on a
 * 64-byte boundary). Written here rather than with a library: the npm packages for .npy read only.
 */
export function npyBytes(kind: ElementKind, values: readonly JsValue[]): Buffer {
  const dict = `{'descr': '${NPY_DTYPE[kind]}', 'fortran_order': False, 'shape': (${values.length},), }`;
  const unpadded = 6 + 2 + 2 + dict.length + 1;
  const header = dict + ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const preamble = Buffer.alloc(10);
  preamble.write('\x93NUMPY', 0, 'latin1');
  preamble[6] = 1; // major version
  preamble[7] = 0;
  preamble.writeUInt16LE(header.length, 8);
  return Buffer.concat([preamble, Buffer.from(header, 'latin1'), encodeArray(kind, [...values])]);
}

/** One column with the array's name as its header. */
export function csvText(name: string, kind: ElementKind, values: readonly JsValue[]): string {
  return [name, ...values.map((v) => formatValue(kind, v))].join('\n') + '\n';
}

/** The array as a file's bytes in `format`. */
export function arrayFile(format: ArrayFormat, name: string, kind: ElementKind, values: readonly JsValue[]): Buffer {
  switch (format) {
    case 'npy': return npyBytes(kind, values);
    case 'csv': return Buffer.from(csvText(name, kind, values));
    case 'json': return Buffer.from(`${jsonArray(kind, values)}\n`);
  }
}
