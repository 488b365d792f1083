/**
 * Draws a PlotSpec into an element, in VS Code's colours: line and scatter plots with uPlot (made
 * for large numeric series: 48,000 samples redraw in milliseconds), image grids on canvases.
 * Runs in a webview (the notebook renderer, the device panel); uPlot's stylesheet must be loaded
 * by the page (the panel's CSS bundle and the renderer both carry it).
 */
import uPlot from 'uplot';

import type { ImageGridSpec, LinePlotSpec, PlotSpec, ScatterPlotSpec } from './spec.js';

export interface RenderedPlot {
  /** The chart's root element (for tests and screenshots). */
  readonly element: HTMLElement;
  dispose(): void;
}

/** VS Code's chart palette, in order; the fallbacks are Dark Modern's values. */
const SERIES_COLOURS: Array<[string, string]> = [
  ['--vscode-charts-blue', '#3794ff'],
  ['--vscode-charts-orange', '#d18616'],
  ['--vscode-charts-green', '#89d185'],
  ['--vscode-charts-purple', '#b180d7'],
  ['--vscode-charts-red', '#f14c4c'],
  ['--vscode-charts-yellow', '#cca700'],
];
const DEFAULT_HEIGHT = 260;

/** How big a chart is drawn: a notebook output's default, or a small one (the device panel's). */
export interface PlotSize {
  height: number;
  minWidth: number;
  /** Small: no legend, no axis labels. */
  compact?: boolean;
}

const DEFAULT_SIZE: PlotSize = { height: DEFAULT_HEIGHT, minWidth: 320 };

export function renderPlot(container: HTMLElement, spec: PlotSpec, size: PlotSize = DEFAULT_SIZE): RenderedPlot {
  const figure = document.createElement('figure');
  figure.className = 'p4jit-plot';
  container.append(figure);
  if (spec.title) {
    const caption = document.createElement('figcaption');
    caption.textContent = spec.title;
    figure.append(caption);
  }
  const body = document.createElement('div');
  figure.append(body);
  const disposeBody = spec.kind === 'images' ? drawImages(body, spec) : drawChart(body, spec, size);
  return {
    element: figure,
    dispose() {
      disposeBody();
      figure.remove();
    },
  };
}

function cssVar(element: Element, name: string, fallback: string): string {
  return getComputedStyle(element).getPropertyValue(name).trim() || fallback;
}

function drawChart(body: HTMLElement, spec: LinePlotSpec | ScatterPlotSpec, size: PlotSize): () => void {
  const foreground = cssVar(body, '--vscode-editor-foreground', '#cccccc');
  const grid = cssVar(body, '--vscode-editorWidget-border', 'rgba(128, 128, 128, 0.35)');
  const font = `11px ${cssVar(body, '--vscode-font-family', 'sans-serif')}`;
  const scatter = spec.kind === 'scatter';
  const axis = (label?: string): uPlot.Axis => ({
    label: size.compact ? undefined : label, stroke: foreground, font, labelFont: font, size: size.compact ? 36 : undefined,
    grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 },
  });
  const options: uPlot.Options = {
    width: Math.max(body.clientWidth, size.minWidth),
    height: size.height,
    scales: { x: { time: false } },
    legend: { show: !size.compact && (spec.series.length > 1 || Boolean(spec.series[0].name)) },
    cursor: { drag: { x: true, y: false } },
    axes: [axis(spec.xLabel), axis(spec.yLabel)],
    series: [
      { label: spec.xLabel ?? 'x' },
      ...spec.series.map((s, i): uPlot.Series => {
        const [name, fallback] = SERIES_COLOURS[i % SERIES_COLOURS.length];
        const colour = cssVar(body, name, fallback);
        return scatter
          ? { label: s.name, stroke: colour, fill: colour, paths: () => null, points: { show: true, size: 4, stroke: colour, fill: colour } }
          : { label: s.name, stroke: colour, width: 1.5, points: { show: false }, spanGaps: false };
      }),
    ],
  };
  const chart = new uPlot(options, alignedData(spec), body);
  // follow the output's width (a notebook column, the panel's sidebar)
  const resize = new ResizeObserver(() => {
    const width = Math.max(body.clientWidth, size.minWidth);
    if (width !== chart.width) chart.setSize({ width, height: size.height });
  });
  resize.observe(body);
  return () => {
    resize.disconnect();
    chart.destroy();
  };
}

/** uPlot draws series over one shared, ascending x: index series are padded, x/y series joined. */
function alignedData(spec: LinePlotSpec | ScatterPlotSpec): uPlot.AlignedData {
  if (spec.series.every((s) => s.x === undefined)) {
    const length = Math.max(...spec.series.map((s) => s.y.length));
    const x = Array.from({ length }, (_, i) => i);
    return [x, ...spec.series.map((s) => Array.from({ length }, (_, i) => (i < s.y.length && Number.isFinite(s.y[i]) ? s.y[i] : null)))];
  }
  const tables = spec.series.map((s): uPlot.AlignedData => {
    const xs = s.x ?? s.y.map((_, i) => i);
    const order = xs.map((_, i) => i).filter((i) => Number.isFinite(xs[i])).sort((a, b) => xs[a] - xs[b]);
    return [order.map((i) => xs[i]), order.map((i) => (Number.isFinite(s.y[i]) ? s.y[i] : null))];
  });
  return uPlot.join(tables);
}

function drawImages(body: HTMLElement, spec: ImageGridSpec): () => void {
  body.className = 'p4jit-image-grid';
  // 28×28 digits show at 3×; larger images at 1×, never wider than 128 px
  const scale = Math.max(1, Math.min(3, Math.floor(128 / spec.width)));
  if (spec.columns) body.style.gridTemplateColumns = `repeat(${spec.columns}, max-content)`;
  spec.images.forEach((pixels, index) => {
    const cell = document.createElement('div');
    cell.className = 'p4jit-image';
    const canvas = document.createElement('canvas');
    canvas.width = spec.width;
    canvas.height = spec.height;
    canvas.style.width = `${spec.width * scale}px`;
    canvas.style.height = `${spec.height * scale}px`;
    paintGrey(canvas, pixels);
    cell.append(canvas);
    const label = spec.labels?.[index];
    if (label !== undefined) {
      const text = document.createElement('span');
      text.textContent = label;
      cell.append(text);
    }
    body.append(cell);
  });
  return () => body.replaceChildren();
}

/** Grey levels from each image's own min (black) to max (white); NaN shows transparent. */
function paintGrey(canvas: HTMLCanvasElement, pixels: number[]): void {
  const context = canvas.getContext('2d');
  if (!context) return;
  const finite = pixels.filter(Number.isFinite);
  const low = finite.length ? Math.min(...finite) : 0;
  const span = (finite.length ? Math.max(...finite) : 1) - low || 1;
  const image = context.createImageData(canvas.width, canvas.height);
  pixels.forEach((value, i) => {
    const grey = Math.round(((value - low) / span) * 255);
    image.data.set([grey, grey, grey, Number.isFinite(value) ? 255 : 0], i * 4);
  });
  context.putImageData(image, 0, 0);
}
