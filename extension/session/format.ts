/**
 * How values and call results read wherever they are shown: the CLI's text and --json, and in VS
 * Code the output channel, status bar, CodeLens and panel. One module, so every face prints a
 * float32 as a float32 and labels what the device counted the same honest way. Pure: no vscode,
 * no DOM, no I/O.
 */
import { formatFloat, type JsValue } from '../../toolchain/number-text.js';
import { KINDS, type ElementKind, type ScalarKind } from '../../toolchain/ctypes.js';
import { formatCount, formatMicros } from './units.js';
import { counterKind, type DeviceInfo } from '../protocol/payloads.js';
import type { CallResult } from './types.js';

export { formatCount, formatFloat, formatMicros };

/** Values of an array the compact views (output channel, panel) show before "… N more". */
export const PREVIEW_ITEMS = 64;

export interface FormatOptions {
  /** Also show integers in hex. */
  hex?: boolean;
}

// ---------------------------------------------------------------- values

/** A value of kind `kind` as text that parseScalar reads back to the same value. */
export function formatValue(kind: ScalarKind, value: JsValue, options: FormatOptions = {}): string {
  if (kind === 'bool') return value ? 'true' : 'false';
  if (kind === 'f32' || kind === 'f64') return formatFloat(Number(value), kind === 'f32' ? 32 : 64);
  if (kind === 'ptr') return `0x${Number(value).toString(16).padStart(8, '0')}`;
  const bits = KINDS[kind].size * 8;
  if (typeof value === 'number' && bits <= 32) { // exact as a number: no BigInt on the per-call path
    if (!options.hex) return String(value);
    return `${value} (0x${(bits === 32 ? value >>> 0 : value & ((1 << bits) - 1)).toString(16).padStart(bits / 4, '0')})`;
  }
  const dec = BigInt(value).toString();
  if (!options.hex) return dec;
  const pattern = BigInt.asUintN(bits, BigInt(value));
  return `${dec} (0x${pattern.toString(16).padStart(bits / 4, '0')})`;
}

/** `[1, 2, 3]`; cut after `maxItems` with a count of the rest. */
export function formatArray(kind: ElementKind, values: readonly JsValue[], maxItems = Infinity): string {
  const shown = values.slice(0, maxItems).map((v) => formatValue(kind, v));
  const rest = values.length - shown.length;
  return `[${shown.join(', ')}${rest > 0 ? `, … ${rest} more` : ''}]`;
}

// ---------------------------------------------------------------- JSON

/**
 * JSON text of a value of kind `kind`. A float32 is its shortest float32 text (reads back to the
 * same float32); JSON has no 64-bit integers and no inf or nan: a bigint becomes its decimal text
 * in quotes, a non-finite float "inf", "-inf" or "nan" (the spelling arguments accept).
 */
export function jsonScalar(kind: ScalarKind | null, value: JsValue | null): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return `"${value}"`;
  if (typeof value === 'number' && !Number.isFinite(value)) return `"${formatFloat(value, 64)}"`;
  if (kind === 'f32' && typeof value === 'number') return formatFloat(value, 32);
  return JSON.stringify(value);
}

/** A JSON list of values of kind `kind` (see jsonScalar). */
export function jsonArray(kind: ElementKind, values: readonly JsValue[]): string {
  return `[${values.map((v) => jsonScalar(kind, v)).join(',')}]`;
}

/** A JSON object whose values are JSON texts already. */
const jsonObject = (entries: [string, string][]) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;

/**
 * The CLI's --json: one object. What the device counted goes under the name of what it is:
 * `cycles` (a board's CPU cycles) or `instructions` (the emulator under -icount), the other null;
 * `timeUs` is the device's clock (the P4's on a board, wall time on an emulator without -icount),
 * null under -icount, where it is virtual time.
 */
export function resultJson(r: CallResult): string {
  const m = measured(r);
  const arrays = Object.entries(r.arrays).map(([name, values]): [string, string] => [name, jsonArray(r.kinds.arrays[name] ?? 'f64', values)]);
  return jsonObject([
    ['function', JSON.stringify(r.function)],
    ['return', jsonScalar(r.kinds.return, r.returnValue)],
    ['cycles', m.cycles === null ? 'null' : `"${m.cycles}"`],
    ['instructions', m.instructions === null ? 'null' : `"${m.instructions}"`],
    ['timeUs', JSON.stringify(m.timeUs)],
    ['hostMs', JSON.stringify(Math.round(r.hostMs * 10) / 10)],
    ['output', JSON.stringify(r.output)],
    ['arrays', jsonObject(arrays)],
    ['fault', JSON.stringify(r.fault)],
    ['overrun', JSON.stringify(r.overrun)],
    // the C types, so a reader knows that 0.1 of an f32 means the float32 nearest to 0.1
    ['kinds', JSON.stringify(r.kinds)],
  ]);
}

// ---------------------------------------------------------------- what the device measured

/** The device's figures of a call, each only where it means what its name says. */
function measured(r: Pick<CallResult, 'count' | 'counter' | 'timeUs'>): { cycles: bigint | null; instructions: bigint | null; timeUs: number | null } {
  switch (r.counter) {
    case 'instructions': return { cycles: null, instructions: r.count, timeUs: null };
    case 'host-ticks': return { cycles: null, instructions: null, timeUs: r.timeUs };
    case 'cycles': return { cycles: r.count, instructions: null, timeUs: r.timeUs };
  }
}

/**
 * The measured figures with labels that say what they are: "1,234 instructions" (emulator under
 * -icount, repeatable), "850 µs wall time" (emulator without it: host clock ticks are not the
 * P4's cycles), "1,234 cycles", "3.4 µs" (a board).
 */
export function measurementParts(r: Pick<CallResult, 'count' | 'counter' | 'timeUs'>): string[] {
  const m = measured(r);
  return [
    m.instructions !== null ? `${formatCount(m.instructions)} instructions` : '',
    m.cycles !== null ? `${formatCount(m.cycles)} cycles` : '',
    m.timeUs !== null ? `${formatMicros(m.timeUs)}${r.counter === 'host-ticks' ? ' wall time' : ''}` : '',
  ].filter(Boolean);
}

/** What a device's counter counts and its cache, as INFO tells them (CLI info, VS Code's Device Info). */
export function describeCounter(info: Pick<DeviceInfo, 'capabilities' | 'cpuHz' | 'cacheLine'>): { counter: string; cache: string } {
  const mhz = info.cpuHz ? `${Math.round(info.cpuHz / 1e6)} MHz` : 'an unknown rate';
  const counter = {
    instructions: 'instructions executed (QEMU -icount: exact, the same on every run)',
    'host-ticks': `the host's clock ticks at ${mhz} (shown as wall time: the emulation's speed, not the P4's cycles)`,
    cycles: `CPU cycles at ${mhz}`,
  }[counterKind(info)];
  const emulated = counterKind(info) !== 'cycles';
  return { counter, cache: info.cacheLine ? `${info.cacheLine}-byte lines` : emulated ? 'none (the emulator models no cache)' : 'none' };
}

// ---------------------------------------------------------------- call results as text

export const callText = (r: CallResult) => `${r.function}(${r.args.map((a) => a.display).join(', ')})`;

/** One line: `f(1, 2) → 3 (0x3)  (1,234 instructions)`, or the fault. */
export function callHeadline(r: CallResult): string {
  if (r.fault) return `${callText(r)}: ${r.fault.message}`;
  if (r.overrun) return `${callText(r)}: ${r.overrun.message}`;
  const parts = measurementParts(r);
  return `${callText(r)} → ${r.returnDisplay}${parts.length ? `  (${parts.join(', ')})` : ''}`;
}

/** A copied-back array as text: all values, or the first `maxItems` and a count of the rest. */
export function formatResultArray(r: CallResult, name: string, maxItems = Infinity): string {
  return formatArray(r.kinds.arrays[name] ?? 'f64', r.arrays[name] ?? [], maxItems);
}

export interface DescribeOptions {
  /** Show at most this many values of an array (default: all). */
  maxItems?: number;
  /** Appended to an array that was cut, e.g. how to get all of it. */
  cutHint?: string;
}

/** The lines of the VS Code output channel for one call. */
export function describeCall(r: CallResult, options: DescribeOptions = {}): string {
  const lines = [`[${new Date(r.at).toLocaleTimeString()}] ${callHeadline(r)}`];
  lines.push(...arrayLines(r, '    ', options));
  if (r.output) lines.push('    printed:', ...r.output.replace(/\n$/, '').split('\n').map((l) => `      ${l}`));
  lines.push(`    ${r.hostMs.toFixed(1)} ms in all (build, load, call)`);
  return lines.join('\n');
}

/** The CLI's text for one call. */
export function describeResult(r: CallResult): string {
  const lines = [callText(r)];
  if (r.fault) lines.push(`  fault:   ${r.fault.message}`);
  else lines.push(`  returned ${r.returnDisplay}`);
  if (r.overrun) lines.push(`  overrun: ${r.overrun.message}`);
  const parts = measurementParts(r);
  if (parts.length) lines.push(`  ran      ${parts.join(', ')}`);
  lines.push(...arrayLines(r, '  ', {}));
  if (r.output) lines.push(`  output:\n${r.output.replace(/^/gm, '    ').trimEnd()}`);
  lines.push(`  took     ${r.hostMs.toFixed(1)} ms (build, load, call)`);
  return lines.join('\n');
}

function arrayLines(r: CallResult, indent: string, { maxItems = Infinity, cutHint }: DescribeOptions): string[] {
  return Object.entries(r.arrays).map(([name, values]) =>
    `${indent}${name} = ${formatResultArray(r, name, maxItems)}${values.length > maxItems && cutHint ? `  (${cutHint})` : ''}`);
}
