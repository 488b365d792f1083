// WCAG 2 contrast of rendered text: the text colour against the backgrounds actually painted
// behind it (translucent layers composited over the page background).
import type { Page } from 'playwright-core';

export type Rgba = [number, number, number, number];

export function parseCssColor(text: string): Rgba {
  const match = /^rgba?\(([^)]+)\)$/.exec(text.trim());
  if (!match) throw new Error(`unexpected computed colour ${text}`);
  const parts = match[1].split(/[\s,/]+/).filter(Boolean).map(Number);
  return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
}

/** Paints `top` over an opaque `bottom`. */
export function composite(top: Rgba, bottom: Rgba): Rgba {
  const a = top[3];
  return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat(1) as Rgba;
}

function luminance([r, g, b]: Rgba): number {
  const channel = (v: number) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

export function contrastRatio(a: Rgba, b: Rgba): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

export interface TextColours {
  text: Rgba;
  background: Rgba;
  ratio: number;
}

/**
 * Colours of the first element matching `selector`; with `part`, of the element inside its
 * shadow root that carries that part (e.g. a vscode-button's `base`).
 */
export async function textColours(page: Page, selector: string, part?: string): Promise<TextColours> {
  const raw = await page.evaluate(({ selector, part }) => {
    let element = document.querySelector(selector) as Element | null;
    if (!element) throw new Error(`no element matches ${selector}`);
    if (part) {
      element = element.shadowRoot?.querySelector(`[part~="${part}"]`) ?? null;
      if (!element) throw new Error(`${selector} has no part ${part}`);
    }
    const layers: string[] = [];
    // Walk out through shadow roots to <html>, collecting each painted background.
    for (let node: Node | null = element; node; ) {
      if (node instanceof Element) layers.push(getComputedStyle(node).backgroundColor);
      node = node instanceof ShadowRoot ? node.host : node.parentNode;
    }
    return { color: getComputedStyle(element).color, layers };
  }, { selector, part });
  let background: Rgba = [255, 255, 255, 1]; // a browser's canvas behind <html>
  for (const layer of raw.layers.reverse()) background = composite(parseCssColor(layer), background);
  const text = composite(parseCssColor(raw.color), background);
  return { text, background, ratio: contrastRatio(text, background) };
}
