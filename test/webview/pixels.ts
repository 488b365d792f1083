// Reads what the browser actually painted for an element (some things, like the colour of a
// <meter>'s value, are visible in no computed style).
import type { Page } from 'playwright-core';
import type { Rgba } from './contrast.js';

/** The colours along the horizontal middle line of the element matched by `selector`. */
export async function paintedMiddleRow(page: Page, selector: string): Promise<Rgba[]> {
  const png = await page.locator(selector).screenshot();
  // Decode in a blank page of the same browser: the panel's CSP would rightly refuse the fetch.
  const decoder = await page.context().newPage();
  try {
    return await decoder.evaluate(async (base64) => {
      const image = new Image();
      image.src = `data:image/png;base64,${base64}`;
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.width;
      canvas.height = image.height;
      const context = canvas.getContext('2d')!;
      context.drawImage(image, 0, 0);
      const row = context.getImageData(0, Math.floor(image.height / 2), image.width, 1).data;
      const colours: Array<[number, number, number, number]> = [];
      for (let i = 0; i < row.length; i += 4) colours.push([row[i], row[i + 1], row[i + 2], row[i + 3] / 255]);
      return colours;
    }, png.toString('base64'));
  } finally {
    await decoder.close();
  }
}

export function hexToRgba(hex: string): Rgba {
  const value = hex.replace('#', '');
  const channel = (i: number) => parseInt(value.slice(i, i + 2), 16);
  return [channel(0), channel(2), channel(4), value.length === 8 ? channel(6) / 255 : 1];
}

export function sameColour(a: Rgba, b: Rgba, tolerance = 6): boolean {
  return [0, 1, 2].every((i) => Math.abs(a[i] - b[i]) <= tolerance);
}

/** Share of the row (between its first and last pixel) painted in `colour`. */
export function shareOf(row: Rgba[], colour: Rgba): number {
  return row.filter((pixel) => sameColour(pixel, colour)).length / row.length;
}
