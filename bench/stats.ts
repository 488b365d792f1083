/** Repeated measurement: warm-up runs, then at least five timed runs; median, min, max. */
export interface Stat {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** One line of the benchmark table. */
export interface Row {
  measurement: string;
  value: string;
  reference: string;
  ratio?: number;
  target: string;
  met: boolean | null;
}

/** A median as the table shows it: two decimals below 1 ms. */
export const ms = (s: Stat) => `${s.median.toFixed(s.median < 1 ? 2 : 1)} ms`;

export async function measure(fn: () => Promise<unknown> | unknown, runs = 7, warmup = 2): Promise<Stat> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], min: times[0], max: times[times.length - 1], runs };
}

/**
 * Two operations measured in alternation, so that both see the same machine (a sub-millisecond
 * figure on a shared machine drifts more between two separate series than it differs).
 */
export async function measurePair(a: () => Promise<unknown>, b: () => Promise<unknown>, runs: number, warmup = 5): Promise<[Stat, Stat]> {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < warmup + runs; i++) {
    for (const [fn, into] of [[a, ta], [b, tb]] as const) {
      const t0 = performance.now();
      await fn();
      if (i >= warmup) into.push(performance.now() - t0);
    }
  }
  const stat = (t: number[]): Stat => {
    t.sort((x, y) => x - y);
    return { median: t[Math.floor(t.length / 2)], min: t[0], max: t[t.length - 1], runs };
  };
  return [stat(ta), stat(tb)];
}

export const fmtMs = (s: Stat) => `${s.median.toFixed(2)} ms (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
