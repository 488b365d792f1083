// The notebook plot renderer in real headless Chromium, loaded as VS Code loads it (an ES module
// under a CSP that allows no network): what it paints, and that pixels change where the data does.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { applyTheme, startHarness, type Harness } from './harness.js';
import { hexToRgba, sameColour } from './pixels.js';
import { DARK_MODERN, LIGHT_MODERN } from './themes.js';

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(() => harness?.close());

interface RendererWindow {
  __rendererReady?: boolean;
  __renderPlot(id: string, value: unknown, width: number): void;
  __disposePlot(id: string): void;
}

async function rendererPage(theme = DARK_MODERN): Promise<{ page: Page; errors: string[] }> {
  const page = await harness.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(`${harness.url}/renderer`);
  await page.waitForFunction(() => (window as unknown as RendererWindow).__rendererReady === true);
  await applyTheme(page, theme);
  return { page, errors };
}

function render(page: Page, id: string, value: unknown, width = 600): Promise<void> {
  return page.evaluate(([i, v, w]) => (window as unknown as RendererWindow).__renderPlot(i as string, v, w as number), [id, value, width] as const);
}

/** The chart canvas's pixels as [r, g, b, a] bytes: all of it, or only the plotting area (inside the axes). */
async function canvasPixels(page: Page, id: string, plotArea = false): Promise<{ width: number; height: number; data: number[] }> {
  return page.evaluate(([i, inside]) => {
    const canvas = document.querySelector(`#${i} canvas`) as HTMLCanvasElement;
    let [x, y, w, h] = [0, 0, canvas.width, canvas.height];
    if (inside) {
      // uPlot's overlay (.u-over) covers exactly the plotting area
      const over = (document.querySelector(`#${i} .u-over`) as HTMLElement).getBoundingClientRect();
      const box = canvas.getBoundingClientRect();
      const scale = canvas.width / box.width;
      [x, y, w, h] = [over.left - box.left, over.top - box.top, over.width, over.height].map((v) => Math.round(v * scale));
    }
    const data = canvas.getContext('2d')!.getImageData(x, y, w, h);
    return { width: data.width, height: data.height, data: Array.from(data.data) };
  }, [id, plotArea] as const);
}

/**
 * For each pixel column, whether it differs between two same-size images by more than
 * anti-aliasing does (the rasteriser may shade an edge pixel a few levels differently when the
 * rest of the path changes).
 */
function differingColumns(a: { width: number; height: number; data: number[] }, b: typeof a): boolean[] {
  assert.equal(a.width, b.width);
  assert.equal(a.height, b.height);
  const columns = new Array<boolean>(a.width).fill(false);
  for (let i = 0; i < a.data.length; i++) if (Math.abs(a.data[i] - b.data[i]) > 48) columns[Math.floor(i / 4) % a.width] = true;
  return columns;
}

const sine = (n: number, flipFrom = n) => Array.from({ length: n }, (_, i) => (i >= flipFrom ? -1 : 1) * Math.sin((2 * Math.PI * i) / 64));

test('a line plot changes pixels only where its data changes', async () => {
  const { page, errors } = await rendererPage();
  await render(page, 'a', { kind: 'line', series: [{ name: 'y', y: sine(512) }] });
  await render(page, 'b', { kind: 'line', series: [{ name: 'y', y: sine(512, 384) }] });
  const diff = differingColumns(await canvasPixels(page, 'a', true), await canvasPixels(page, 'b', true));
  const changed = diff.map((d, i) => (d ? i : -1)).filter((i) => i >= 0);
  // the data is equal up to sample 384 of 511 (x spans 0..511), so up to ~74 % of the plotting
  // area (the y axis is the same: both series span -1..1); a few isolated edge pixels may shade
  // differently, a changed curve changes most columns
  const share = (from: number, to: number) => {
    const part = diff.slice(Math.round(diff.length * from), Math.round(diff.length * to));
    return part.filter(Boolean).length / part.length;
  };
  assert.ok(share(0, 0.72) < 0.02, `left of the change: ${changed.filter((c) => c < diff.length * 0.72)}`);
  assert.ok(share(0.76, 1) > 0.5, `right of the change only ${(share(0.76, 1) * 100).toFixed(0)} % of columns changed`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('series are drawn in the theme\'s chart colours, one colour per series', async () => {
  for (const theme of [DARK_MODERN, LIGHT_MODERN]) {
    const { page, errors } = await rendererPage(theme);
    await render(page, 'p', {
      kind: 'line', title: 'input vs output',
      series: [{ name: 'input', y: sine(256) }, { name: 'output', y: sine(256).map((v) => v / 2) }],
    });
    const pixels = await canvasPixels(page, 'p');
    const colours = await page.evaluate(() => ['--vscode-charts-blue', '--vscode-charts-orange']
      .map((name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim()));
    for (const hex of colours) {
      const want = hexToRgba(hex);
      let found = 0;
      for (let i = 0; i < pixels.data.length; i += 4) {
        if (sameColour([pixels.data[i], pixels.data[i + 1], pixels.data[i + 2], 1], want, 20)) found++;
      }
      assert.ok(found > 50, `${theme.name}: ${found} pixels of ${hex}`);
    }
    const text = await page.locator('#p').innerText();
    assert.match(text, /input vs output/);
    assert.match(text, /input/);
    assert.match(text, /output/);
    assert.deepEqual(errors, []);
    await page.close();
  }
});

test('a scatter plot takes unsorted x values', async () => {
  const { page, errors } = await rendererPage();
  const x = [5, 1, 4, 2, 3];
  await render(page, 's', { kind: 'scatter', xLabel: 'x', yLabel: 'y', series: [{ name: 'pts', x, y: x.map((v) => v * v) }] });
  const pixels = await canvasPixels(page, 's');
  assert.ok(pixels.data.some((v, i) => i % 4 === 3 && v > 0), 'something was painted');
  assert.deepEqual(errors, []);
  await page.close();
});

test('an image grid shows each image scaled to its own range, with its label', async () => {
  const { page, errors } = await rendererPage();
  // image k: a bright square at column k*7, the rest dark
  const images = [0, 1, 2, 3].map((k) => Array.from({ length: 28 * 28 }, (_, i) => (Math.floor((i % 28) / 7) === k ? 1 : 0)));
  await render(page, 'g', { kind: 'images', width: 28, height: 28, images, labels: ['0', '1', '2', '3'], columns: 4 });
  assert.equal(await page.locator('#g canvas').count(), 4);
  assert.equal(await page.locator('#g').innerText().then((t) => t.replace(/\s+/g, ' ').trim()), '0 1 2 3');
  const greys = await page.evaluate(() => Array.from(document.querySelectorAll('#g canvas')).map((c) => {
    const context = (c as HTMLCanvasElement).getContext('2d')!;
    return [3, 10, 17, 24].map((x) => context.getImageData(x, 14, 1, 1).data[0]);
  }));
  assert.deepEqual(greys, [[255, 0, 0, 0], [0, 255, 0, 0], [0, 0, 255, 0], [0, 0, 0, 255]]);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a malformed plot output shows its reason instead of a plot', async () => {
  const { page, errors } = await rendererPage();
  await render(page, 'bad', { kind: 'line', series: [{ name: 'y', y: [1, 'two', 3] }] });
  assert.match(await page.locator('#bad').innerText(), /series\[0\]\.y\[1\]: a number was expected, got "two"/);
  assert.equal(await page.locator('#bad canvas').count(), 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test('rendering the same output again replaces it; disposing removes it', async () => {
  const { page } = await rendererPage();
  await render(page, 'r', { kind: 'line', series: [{ name: 'y', y: sine(64) }] });
  await render(page, 'r', { kind: 'line', series: [{ name: 'y', y: sine(128) }] });
  assert.equal(await page.locator('#r .p4jit-plot').count(), 1);
  await page.evaluate(() => (window as unknown as RendererWindow).__disposePlot('r'));
  assert.equal(await page.locator('#r .p4jit-plot').count(), 0);
  await page.close();
});
