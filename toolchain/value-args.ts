/**
 * Arguments given as JavaScript values rather than typed text: numbers, bigints and booleans for
 * scalars; typed arrays (Float32Array for `float *`, Int16Array for `int16_t *`, …) or plain arrays
 * for pointers; a device buffer ({ address }) or null for a pointer to memory already on the
 * device. Text is still accepted (and parsed exactly as typed in a prompt), so one call can mix both.
 * What scripts and notebooks pass through the public API.
 */
import { ArgumentError, checkCount, checkDeclaredLength, elementAlignment, encodeScalar, measureArgument, parseArgument,
  type Argument, type ArgumentOptions, type ArgumentSize, type JsValue } from './args.js';
import { KINDS, type ElementKind, type ScalarKind } from './ctypes.js';
import { parseScalar } from './number-text.js';
import type { Param } from './signature.js';
import { InputError } from './errors.js';

/** Memory on the device, passed to a pointer parameter by its address. */
export interface DeviceAddress {
  readonly address: number;
}

export type TypedArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** One argument: its text as typed in a prompt, or a value. */
export type ArgumentInput = string | number | bigint | boolean | null | DeviceAddress | TypedArray | readonly JsValue[];

/** The typed array that holds each element kind exactly. */
export const TYPED_ARRAY_OF: Record<ElementKind, string> = {
  i8: 'Int8Array', u8: 'Uint8Array', i16: 'Int16Array', u16: 'Uint16Array', i32: 'Int32Array', u32: 'Uint32Array',
  i64: 'BigInt64Array', u64: 'BigUint64Array', bool: 'Uint8Array', f32: 'Float32Array', f64: 'Float64Array',
};

const typedName = (v: ArrayBufferView) => v.constructor.name;

export function isTypedArray(v: unknown): v is TypedArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

function isDeviceAddress(v: unknown): v is DeviceAddress {
  return typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !Array.isArray(v) && typeof (v as DeviceAddress).address === 'number';
}

/** The integer kinds whose values JavaScript numbers hold exactly, with their ranges. */
const SMALL_INT_RANGE: Partial<Record<ScalarKind, [number, number]>> = Object.fromEntries(
  (['i8', 'u8', 'i16', 'u16', 'i32', 'u32'] as const).map((k) => [k, [Number(KINDS[k].min), Number(KINDS[k].max)]]));

/** `value` for parameter `param`, checked as strictly as its text would be. */
export function valueArgument(value: ArgumentInput, param: Param, opts: ArgumentOptions = {}): Argument {
  if (typeof value === 'string') return parseArgument(value, param, opts);
  try {
    const t = param.type;
    if (t.kind === 'void' || t.kind === 'invalid') throw new InputError(`parameter type '${t.text}' cannot take a value`);
    if (t.kind !== 'ptr') {
      if (typeof value !== 'number' && typeof value !== 'bigint' && typeof value !== 'boolean') {
        throw new InputError(`expected a number for ${t.text}, got ${describe(value)}`);
      }
      if (typeof value === 'boolean' && t.kind !== 'bool') throw new InputError(`expected a number for ${t.text}, got ${value}`);
      const range = SMALL_INT_RANGE[t.kind];
      if (range && Number.isInteger(value) && (value as number) >= range[0] && (value as number) <= range[1]) {
        // an integer in range is its own value (a call per input skips the text parser); -0 is 0
        const v = (value as number) + 0;
        return { kind: 'scalar', param, type: t.kind, value: v, slot: encodeScalar(t.kind, v) };
      }
      // through the text parser: one place decides ranges, integer-ness and float32 rounding
      const v = parseScalar(typeof value === 'number' && Number.isNaN(value) ? 'nan' : String(value), t.kind, t.text);
      return { kind: 'scalar', param, type: t.kind, value: v, slot: encodeScalar(t.kind, v) };
    }
    if (value === null || isDeviceAddress(value)) {
      const address = value === null ? 0 : value.address;
      if (!Number.isInteger(address) || address < 0 || address > 0xffffffff) throw new InputError(`address ${address} is not a 32-bit device address`);
      return { kind: 'scalar', param, type: 'ptr', value: address, slot: encodeScalar('ptr', address) };
    }
    const pointee = t.pointee!;
    if (pointee.kind === 'void' || pointee.kind === 'opaque') {
      throw new InputError(`a pointer to ${pointee.kind === 'void' ? 'void' : `'${pointee.text}'`} has no element type: pass a device buffer or null`);
    }
    const element = pointee.kind;
    let data: Buffer;
    let values: JsValue[];
    if (isTypedArray(value)) {
      checkTypedArray(value, param);
      data = Buffer.from(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
      values = new Array(value.length);
      for (let i = 0; i < value.length; i++) values[i] = (value as ArrayLike<JsValue>)[i]; // (Array.from iterates: slow for 48,000)
      if (element === 'bool' && values.some((v) => v !== 0 && v !== 1)) throw new InputError('a bool array holds only 0 and 1');
    } else if (Array.isArray(value)) {
      values = value.map((v, i) => {
        try {
          const a = valueArgument(v as ArgumentInput, { name: param.name, type: { kind: element, text: pointee.text } } as Param);
          return (a as Extract<Argument, { kind: 'scalar' }>).value;
        } catch (e) {
          throw new InputError(`element ${i}: ${(e as Error).message.replace(/^argument '[^']*': /, '')}`);
        }
      });
      data = Buffer.alloc(values.length * KINDS[element].size);
      values.forEach((v, i) => encodeScalar(element, v).copy(data, i * KINDS[element].size, 0, KINDS[element].size));
    } else {
      throw new InputError(`expected a ${TYPED_ARRAY_OF[element]}, an array, a device buffer or null for '${t.text}', got ${describe(value)}`);
    }
    checkDeclaredLength(param, values.length);
    return {
      kind: 'array', param, element, values, data, alignment: elementAlignment(element),
      copyBack: !pointee.isConst, isString: false,
    };
  } catch (e) {
    if (e instanceof ArgumentError) throw e;
    throw new ArgumentError(param.name, (e as Error).message);
  }
}

/** Throws unless `value` holds exactly the elements of pointer parameter `param`. */
function checkTypedArray(value: TypedArray, param: Param): void {
  const pointee = param.type.pointee!;
  const wanted = pointee.kind === 'void' || pointee.kind === 'opaque' ? undefined : TYPED_ARRAY_OF[pointee.kind];
  if (typedName(value) === wanted || (wanted === 'Uint8Array' && typedName(value) === 'Uint8ClampedArray')) return;
  throw new InputError(`a ${typedName(value)} cannot be passed as '${param.type.text}': give a ${wanted} (its elements are ${pointee.text})`);
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (isTypedArray(v)) return `a ${typedName(v)}`;
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** Every argument of a call as built arguments, their count checked first. */
export function toArguments(inputs: readonly ArgumentInput[], sig: { name: string; params: Param[] }, opts: ArgumentOptions = {}): Argument[] {
  checkCount(inputs, sig);
  return inputs.map((input, i) => valueArgument(input, sig.params[i], opts));
}

/** Sizes of a call's arguments before building them: text is measured, values are already in memory. */
export function measureInputs(inputs: readonly ArgumentInput[], sig: { name: string; params: Param[] }, opts: ArgumentOptions = {}): ArgumentSize[] {
  checkCount(inputs, sig);
  return inputs.map((input, i) => {
    const param = sig.params[i];
    if (typeof input === 'string') return measureArgument(input, param, opts);
    // a scalar's value is checked when the call builds it, before anything is sent
    if (param.type.kind !== 'ptr' && (typeof input === 'number' || typeof input === 'bigint' || typeof input === 'boolean')) return { kind: 'scalar' };
    const pointee = param.type.pointee;
    if (isTypedArray(input) && pointee && pointee.kind !== 'void' && pointee.kind !== 'opaque') {
      // counted, not copied: the call builds the argument once, after the room check
      try {
        checkTypedArray(input, param);
        checkDeclaredLength(param, input.length);
      } catch (e) {
        throw new ArgumentError(param.name, (e as Error).message);
      }
      const element = pointee.kind;
      return { kind: 'array', param, element, elements: input.length, bytes: input.byteLength, alignment: elementAlignment(element) };
    }
    const a = valueArgument(input, param, opts);
    return a.kind === 'scalar' ? { kind: 'scalar' } : { kind: 'array', param, element: a.element, elements: a.values.length, bytes: a.data.length, alignment: a.alignment };
  });
}
