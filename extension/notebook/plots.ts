/**
 * `plot(...)` in a notebook cell: typed arrays and plain lists become a checked plot spec (the JSON
 * the notebook renderer draws). Pure: a Node test builds the same specs.
 */
import { parsePlotSpec, type PlotSeries, type PlotSpec } from '../../webview/plot/spec.js';
import { InputError } from '../../toolchain/errors.js';

type Numbers = ArrayLike<number | bigint>;

export interface PlotOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** The x value of every sample (default: the index 0, 1, 2, …), e.g. time in ms. */
  x?: Numbers;
}

export interface ImageOptions {
  width: number;
  height: number;
  title?: string;
  labels?: string[];
  columns?: number;
}

const list = (values: Numbers, what: string): number[] => {
  if (values == null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw new InputError(`${what}: expected an array or typed array of numbers, got ${values === null ? 'null' : typeof values}`);
  }
  return Array.from(values, Number);
};

/**
 * A line plot: `plot(y)`, `plot({ input: x, output: y })` to overlay named series, or
 * `plot([{ name, y, x }])`.
 */
export function linePlot(data: Numbers | Record<string, Numbers> | PlotSeries[], options: PlotOptions = {}): PlotSpec {
  return parsePlotSpec({ kind: 'line', ...labels(options), series: seriesOf(data, options.x) });
}

/** Points: `scatter(x, y)` or `scatter({ name: { x, y } })`. */
export function scatterPlot(xOrSeries: Numbers | Record<string, { x: Numbers; y: Numbers }>, y?: Numbers | PlotOptions, options: PlotOptions = {}): PlotSpec {
  let series: PlotSeries[];
  if (isNumbers(xOrSeries)) {
    series = [{ name: options.title ?? 'y', x: list(xOrSeries, 'x'), y: list(y as Numbers, 'y') }];
  } else {
    options = (y as PlotOptions | undefined) ?? options;
    series = Object.entries(xOrSeries).map(([name, s]) => ({ name, x: list(s.x, `${name}.x`), y: list(s.y, `${name}.y`) }));
  }
  return parsePlotSpec({ kind: 'scatter', ...labels(options), series });
}

/** A grid of small grey-scale images (row-major, width × height each) with optional labels. */
export function imageGrid(images: Numbers[] | Numbers, options: ImageOptions): PlotSpec {
  const { width, height } = options ?? ({} as ImageOptions);
  let all: number[][];
  if (isNumbers(images)) {
    // one flat array of many images, as a data set is often stored
    const flat = list(images, 'images');
    const each = width * height;
    if (!(each > 0) || flat.length % each !== 0) throw new InputError(`images: ${flat.length} values are not a whole number of ${width}×${height} images`);
    all = Array.from({ length: flat.length / each }, (_, i) => flat.slice(i * each, (i + 1) * each));
  } else {
    all = Array.from(images, (img, i) => list(img, `image ${i}`));
  }
  return parsePlotSpec({ kind: 'images', title: options?.title, width, height, images: all, labels: options?.labels, columns: options?.columns });
}

function isNumbers(value: unknown): value is Numbers {
  return ArrayBuffer.isView(value) || (Array.isArray(value) && (value.length === 0 || typeof value[0] === 'number' || typeof value[0] === 'bigint'));
}

function seriesOf(data: Numbers | Record<string, Numbers> | PlotSeries[], x?: Numbers): PlotSeries[] {
  const xs = x === undefined ? undefined : list(x, 'x');
  if (isNumbers(data)) return [{ name: 'y', y: list(data, 'y'), x: xs }];
  if (Array.isArray(data)) return data.map((s, i) => ({ name: s.name ?? `series ${i + 1}`, y: list(s.y, s.name ?? `series ${i + 1}`), x: s.x ? list(s.x, `${s.name}.x`) : xs }));
  if (data && typeof data === 'object') return Object.entries(data).map(([name, y]) => ({ name, y: list(y, name), x: xs }));
  throw new InputError(`plot: expected an array, typed array or { name: array } object, got ${data === null ? 'null' : typeof data}`);
}

function labels(options: PlotOptions): Pick<PlotOptions, 'title' | 'xLabel' | 'yLabel'> {
  return { title: options.title, xLabel: options.xLabel, yLabel: options.yLabel };
}
