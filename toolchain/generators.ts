/**
 * Arrays made by a formula instead of typed out, for a pointer argument:
 *   range(64)  range(1, 10, 2)  linspace(0, 1, 101)  zeros(256)  ones(8)
 *   sine(4096, 440, 48000)  sine(4096, 440, 48000, 0.5)  (count, Hz, samples/s, amplitude = 1, phase = 0)
 *   noise(256)  noise(256, 0.1, seed=7)  (uniform in [-amplitude, amplitude])
 *   random(256, seed=1)  (uniform in [0, 1))
 * Seeded, so a run is repeatable. Integer element types get the values rounded to the nearest
 * integer (sine(64, 1, 64, 32767) for int16_t); a value outside the type's range is an error.
 */
import { InputError } from './errors.js';

export interface Generator {
  name: string;
  /** How many values it makes (known without making them). */
  count: number;
  values(): number[];
}

const MAX_COUNT = 1 << 24;

type Spec = { params: string[]; required: number; count: (a: number[]) => number; make: (a: number[]) => (i: number) => number };

const seeded = (seed: number) => {
  // mulberry32: small, fast, and the same sequence everywhere
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
};

const SPECS: Record<string, Spec> = {
  range: {
    params: ['start_or_count', 'stop', 'step'], required: 1,
    count: (a) => {
      if (!a.every(Number.isInteger)) throw new InputError(`range takes whole numbers (linspace makes fractions), got ${a.join(', ')}`);
      const [start, stop, step] = a.length === 1 ? [0, a[0], 1] : [a[0], a[1], a[2] ?? 1];
      if (step === 0) throw new InputError('range: step must not be 0');
      return Math.max(0, Math.ceil((stop - start) / step));
    },
    make: (a) => {
      const [start, step] = a.length === 1 ? [0, 1] : [a[0], a[2] ?? 1];
      return (i) => start + i * step;
    },
  },
  linspace: {
    params: ['start', 'stop', 'count'], required: 3,
    count: (a) => a[2],
    make: ([start, stop, n]) => (i) => (n === 1 ? start : start + ((stop - start) * i) / (n - 1)),
  },
  zeros: { params: ['count'], required: 1, count: (a) => a[0], make: () => () => 0 },
  ones: { params: ['count'], required: 1, count: (a) => a[0], make: () => () => 1 },
  sine: {
    params: ['count', 'frequency', 'rate', 'amplitude', 'phase'], required: 3,
    count: (a) => a[0],
    make: ([, f, rate, amplitude = 1, phase = 0]) => {
      if (!(rate > 0)) throw new InputError('sine: the sample rate must be positive');
      return (i) => amplitude * Math.sin((2 * Math.PI * f * i) / rate + phase);
    },
  },
  noise: {
    params: ['count', 'amplitude', 'seed'], required: 1,
    count: (a) => a[0],
    make: ([, amplitude = 1, seed = 1]) => {
      const r = seeded(seed);
      return () => amplitude * (2 * r() - 1);
    },
  },
  random: {
    params: ['count', 'seed'], required: 1,
    count: (a) => a[0],
    make: ([, seed = 1]) => {
      const r = seeded(seed);
      return () => r();
    },
  },
};

export const GENERATOR_NAMES = Object.keys(SPECS);

/** True when `text` is written as a generator call, e.g. `sine(64, 1, 64)`. */
export function isGenerator(text: string): boolean {
  return /^[a-z]\w*\s*\(/.test(text.trim());
}

/** Parses a generator call; errors name the generator and what is wrong. */
export function parseGenerator(text: string): Generator {
  const m = /^([a-z]\w*)\s*\(([^()]*)\)$/.exec(text.trim());
  if (!m) throw new InputError(`'${text.trim()}' is not a generator call like sine(4096, 440, 48000)`);
  const [, name, inside] = m;
  const spec = SPECS[name];
  if (!spec) throw new InputError(`no generator '${name}': use ${GENERATOR_NAMES.map((g) => `${g}(…)`).join(', ')}`);
  const args: number[] = [];
  const parts = inside.trim() ? inside.split(',').map((p) => p.trim()) : [];
  for (const [i, part] of parts.entries()) {
    const kw = /^(\w+)\s*=\s*(.+)$/.exec(part);
    const at = kw ? spec.params.indexOf(kw[1]) : i;
    if (at < 0) throw new InputError(`${name}: no parameter '${kw![1]}' (it takes ${spec.params.join(', ')})`);
    if (at >= spec.params.length) throw new InputError(`${name} takes at most ${spec.params.length} values (${spec.params.join(', ')})`);
    const value = Number(kw ? kw[2] : part);
    if (!Number.isFinite(value)) throw new InputError(`${name}: ${spec.params[at]} '${kw ? kw[2] : part}' is not a number`);
    args[at] = value;
  }
  return makeGenerator(name, args);
}

/**
 * The same generators called with numbers (a notebook's `sine(4096, 440, 48000)`): `args` in
 * parameter order, missing ones left undefined for their defaults.
 */
export function makeGenerator(name: string, args: (number | undefined)[]): Generator {
  const spec = SPECS[name];
  if (!spec) throw new InputError(`no generator '${name}': use ${GENERATOR_NAMES.map((g) => `${g}(…)`).join(', ')}`);
  if (args.length > spec.params.length) throw new InputError(`${name} takes at most ${spec.params.length} values (${spec.params.join(', ')})`);
  for (const [i, value] of args.entries()) {
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value))) {
      throw new InputError(`${name}: ${spec.params[i]} must be a finite number, not ${String(value)}`);
    }
  }
  for (let i = 0; i < spec.required; i++) {
    if (args[i] === undefined) throw new InputError(`${name} needs ${spec.params.slice(0, spec.required).join(', ')}`);
  }
  const count = spec.count(args as number[]);
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
    throw new InputError(`${name}: the count must be a whole number from 1 to ${MAX_COUNT}, got ${count}`);
  }
  const at = spec.make(args as number[]);
  return { name, count, values: () => Array.from({ length: count }, (_, i) => at(i)) };
}
