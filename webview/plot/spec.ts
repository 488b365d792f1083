/**
 * What a P4-JIT plot shows, as plain JSON: the payload of the notebook output MIME type
 * `application/vnd.p4jit.plot+json` and of the device panel's array plots. Pure (no DOM), so the
 * extension host builds and checks specs with the same code the renderer reads them with.
 */
import { P4JitError } from '../../extension/util/errors.js';

export const PLOT_MIME = 'application/vnd.p4jit.plot+json';

/** One line or point set. `x` defaults to the sample index 0, 1, 2, … */
export interface PlotSeries {
  name: string;
  y: number[];
  x?: number[];
}

/** Line plot of one or more series (an input and its filtered output overlaid, say). */
export interface LinePlotSpec {
  kind: 'line';
  title?: string;
  xLabel?: string;
  yLabel?: string;
  series: PlotSeries[];
}

/** Points without lines: every series needs its own `x`. */
export interface ScatterPlotSpec {
  kind: 'scatter';
  title?: string;
  xLabel?: string;
  yLabel?: string;
  series: PlotSeries[];
}

/** Small grey-scale images in a grid, each with an optional caption (28×28 digits and their predicted labels). */
export interface ImageGridSpec {
  kind: 'images';
  title?: string;
  width: number;
  height: number;
  /** One row-major array of width × height values per image; each image is scaled to its own min..max. */
  images: number[][];
  labels?: string[];
  /** Images per row (default: as many as fit). */
  columns?: number;
}

export type PlotSpec = LinePlotSpec | ScatterPlotSpec | ImageGridSpec;

/** Limits that keep a notebook output responsive. */
export const PLOT_LIMITS = { series: 16, points: 1_000_000, images: 1024, imagePixels: 256 * 256 } as const;

/**
 * A long array as a small line plot's series: at most `maxPoints` points, each bucket of samples
 * drawn as its minimum and maximum, so a spike or the envelope of a tone survives the thinning.
 * Non-finite values are skipped.
 */
export function envelopeSeries(name: string, values: readonly number[], maxPoints = 600): PlotSeries {
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  if (values.length <= maxPoints) return { name, y: [...values] };
  const per = values.length / buckets;
  const x: number[] = [];
  const y: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor(b * per);
    const end = Math.floor((b + 1) * per);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = start; i < end; i++) {
      const v = values[i];
      if (!Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo === Infinity) continue;
    x.push(start, end - 1);
    y.push(lo, hi);
  }
  return { name, y, x };
}

export class PlotSpecError extends P4JitError {
  override name = 'PlotSpecError';
}

/** Checks an untrusted value (a notebook output, a message) and returns it typed, or throws a PlotSpecError naming the problem. */
export function parsePlotSpec(value: unknown): PlotSpec {
  const spec = record(value, 'the plot');
  const title = optionalString(spec.title, 'title');
  switch (spec.kind) {
    case 'line':
    case 'scatter': {
      const series = list(spec.series, 'series');
      if (series.length === 0) fail('series: give at least one series');
      if (series.length > PLOT_LIMITS.series) fail(`series: at most ${PLOT_LIMITS.series} series, got ${series.length}`);
      const parsed = series.map((s, i) => parseSeries(s, i, spec.kind === 'scatter'));
      const points = parsed.reduce((n, s) => n + s.y.length, 0);
      if (points > PLOT_LIMITS.points) fail(`series: at most ${PLOT_LIMITS.points} points in all, got ${points}`);
      return {
        kind: spec.kind, title, series: parsed,
        xLabel: optionalString(spec.xLabel, 'xLabel'), yLabel: optionalString(spec.yLabel, 'yLabel'),
      };
    }
    case 'images': {
      const width = positiveInteger(spec.width, 'width');
      const height = positiveInteger(spec.height, 'height');
      if (width * height > PLOT_LIMITS.imagePixels) fail(`width × height: at most ${PLOT_LIMITS.imagePixels} pixels per image, got ${width * height}`);
      const images = list(spec.images, 'images');
      if (images.length === 0) fail('images: give at least one image');
      if (images.length > PLOT_LIMITS.images) fail(`images: at most ${PLOT_LIMITS.images} images, got ${images.length}`);
      const pixels = images.map((image, i) => {
        const values = numbers(image, `images[${i}]`);
        if (values.length !== width * height) fail(`images[${i}]: ${values.length} values, but ${width} × ${height} = ${width * height} were expected`);
        return values;
      });
      let labels: string[] | undefined;
      if (spec.labels !== undefined) {
        labels = list(spec.labels, 'labels').map((l, i) => {
          if (typeof l !== 'string' && typeof l !== 'number') fail(`labels[${i}]: a string or number was expected`);
          return String(l);
        });
        if (labels.length !== pixels.length) fail(`labels: ${labels.length} labels for ${pixels.length} images`);
      }
      const columns = spec.columns === undefined ? undefined : positiveInteger(spec.columns, 'columns');
      return { kind: 'images', title, width, height, images: pixels, labels, columns };
    }
    default:
      return fail(`kind: one of "line", "scatter", "images" was expected, got ${JSON.stringify(spec.kind)}`);
  }
}

function parseSeries(value: unknown, index: number, needsX: boolean): PlotSeries {
  const where = `series[${index}]`;
  const s = record(value, where);
  const name = s.name === undefined ? `series ${index + 1}` : optionalString(s.name, `${where}.name`)!;
  const y = numbers(s.y, `${where}.y`);
  if (s.x === undefined) {
    if (needsX) fail(`${where}.x: a scatter plot needs x values for every series`);
    return { name, y };
  }
  const x = numbers(s.x, `${where}.x`);
  if (x.length !== y.length) fail(`${where}: ${x.length} x values but ${y.length} y values`);
  return { name, y, x };
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${where}: an object was expected`);
  return value as Record<string, unknown>;
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) fail(`${where}: an array was expected`);
  return value as unknown[];
}

/** Numbers, or null for a gap (JSON has no NaN); typed arrays are accepted from the host side. */
function numbers(value: unknown, where: string): number[] {
  const items = ArrayBuffer.isView(value) && !(value instanceof DataView) ? Array.from(value as unknown as ArrayLike<number>) : list(value, where);
  return items.map((v, i) => {
    if (v === null) return Number.NaN;
    if (typeof v !== 'number' && typeof v !== 'bigint') fail(`${where}[${i}]: a number was expected, got ${JSON.stringify(v)}`);
    return Number(v);
  });
}

function optionalString(value: unknown, where: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail(`${where}: a string was expected`);
  return value as string;
}

function positiveInteger(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) fail(`${where}: a positive whole number was expected, got ${JSON.stringify(value)}`);
  return value as number;
}

function fail(message: string): never {
  throw new PlotSpecError(`plot: ${message}`);
}
