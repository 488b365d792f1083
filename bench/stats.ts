/** Repeated measurement: warm-up runs, then at least five timed runs; median, min, max. */
export interface Stat {
  median: number;
  min: number;
  max: number;
  runs: number;
}

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

export const fmtMs = (s: Stat) => `${s.median.toFixed(2)} ms (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
