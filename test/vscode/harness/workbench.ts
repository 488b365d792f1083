// Browser side of run-code-server: launches Debian's Chromium through playwright-core and performs
// user-style actions on the VS Code workbench (command palette, keys, quick picks, screenshots).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Frame, type Locator, type Page } from 'playwright-core';
import type { UiRequest } from './ui-bridge.js';

export const DEFAULT_CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Keep the browser from talking to the outside world or showing first-run UI.
const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
];

/**
 * Starts Chromium with a new empty profile in `stateDir`. Its HOME and XDG folders point there
 * too: Debian's Chromium otherwise writes crash-report settings and dconf files into $HOME.
 */
export async function launchBrowser(stateDir: string, executablePath = DEFAULT_CHROMIUM, headless = true): Promise<BrowserContext> {
  const home = join(stateDir, 'chromium-home');
  const profile = join(stateDir, 'chromium-profile');
  for (const dir of [profile, join(home, '.config'), join(home, '.cache')]) mkdirSync(dir, { recursive: true });
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  Object.assign(env, { HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache') });
  return chromium.launchPersistentContext(profile, {
    executablePath,
    headless,
    env,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 800 },
    // The runner owns signal handling so it can shut code-server down in order.
    handleSIGINT: false,
    handleSIGTERM: false,
  });
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

const QUICK_INPUT = '.quick-input-widget';
const QUICK_INPUT_BOX = `${QUICK_INPUT} .quick-input-box input`;
const QUICK_ROWS = `${QUICK_INPUT} .quick-input-list .monaco-list-row`;

async function quickInputVisible(page: Page): Promise<boolean> {
  return page.locator(QUICK_INPUT_BOX).isVisible();
}

/**
 * Finds the row whose label is exactly `label` in the open quick input; accepts it with Enter when
 * it is the focused row, otherwise clicks it. Returns false when no such row is listed (yet).
 */
async function acceptRow(page: Page, label: string, waitMs: number): Promise<boolean> {
  label = label.replace(/\$\([\w~-]+\)\s*/g, '').trim(); // "$(plug) Auto": icons render without text
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const rows = page.locator(QUICK_ROWS);
    const count = await rows.count();
    for (let i = 0; i < count; i++) {
      const row = rows.nth(i);
      const text = (await row.locator('.label-name').first().textContent().catch(() => null))?.trim();
      if (text !== label) continue;
      const focused = (await row.getAttribute('class'))?.split(/\s+/).includes('focused');
      if (focused) await page.keyboard.press('Enter');
      else await row.click();
      return true;
    }
    await sleep(100);
  }
  return false;
}

/**
 * Runs a command the way a user does: Ctrl+Shift+P, type its title, Enter. The palette lists a
 * command only once its extension contributed it, so this retries until it appears.
 */
export async function runPaletteCommand(page: Page, title: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await quickInputVisible(page)) await page.keyboard.press('Escape');
    await page.keyboard.press('Control+Shift+P');
    try {
      await page.locator(QUICK_INPUT_BOX).waitFor({ state: 'visible', timeout: 5000 });
    } catch {
      continue; // workbench still starting: keystroke not handled yet
    }
    await page.locator(QUICK_INPUT_BOX).fill(`>${title}`);
    if (await acceptRow(page, title, 2000)) return;
    await page.keyboard.press('Escape');
    await sleep(500);
  }
  throw new Error(`command palette never listed "${title}" within ${timeoutMs} ms`);
}

/** Accepts an item of an already open quick pick (e.g. one a command showed). */
export async function pickQuickItem(page: Page, label: string, timeoutMs = 15_000): Promise<void> {
  await page.locator(QUICK_INPUT_BOX).waitFor({ state: 'visible', timeout: timeoutMs });
  if (!(await acceptRow(page, label, timeoutMs))) throw new Error(`quick pick has no item "${label}"`);
}

/** Labels of the rows the open quick input lists (once it lists any, or after `waitMs`). */
async function rowLabels(page: Page, waitMs = 5000): Promise<string[]> {
  const rows = page.locator(`${QUICK_ROWS} .label-name`);
  await rows.first().waitFor({ state: 'visible', timeout: waitMs }).catch(() => undefined);
  return (await rows.allTextContents()).map((t) => t.trim());
}

/** Labels of the open quick pick; none when no quick input is open (the caller polls). */
export async function quickPickItems(page: Page): Promise<string[]> {
  if (!(await page.locator(QUICK_INPUT_BOX).isVisible())) return [];
  return rowLabels(page, 2000);
}

/** What the palette lists for `text`, typed as a user types it; the palette is closed again. */
export async function paletteItems(page: Page, text: string): Promise<string[]> {
  if (await quickInputVisible(page)) await page.keyboard.press('Escape');
  await page.keyboard.press('Control+Shift+P');
  await page.locator(QUICK_INPUT_BOX).waitFor({ state: 'visible', timeout: 15_000 });
  await page.locator(QUICK_INPUT_BOX).fill('>');
  await page.keyboard.type(text);
  const labels = await rowLabels(page, 2000);
  await page.keyboard.press('Escape');
  return labels;
}

/**
 * The frame of the webview that holds `selector`. A webview is an iframe (the host page of
 * VS Code) holding another iframe with the extension's HTML: search every frame but the page.
 */
async function webviewFrame(page: Page, selector: string, timeoutMs = 15_000): Promise<Frame> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      if (frame === page.mainFrame() || frame.isDetached()) continue;
      if (await frame.locator(selector).count().catch(() => 0)) return frame;
    }
    await sleep(100);
  }
  throw new Error(`no webview shows ${selector}`);
}

/**
 * The visible texts of `selector` across every webview frame: a closed or hidden notebook's
 * frame may linger with matches of its own, which must not hide the shown one's.
 */
async function visibleTextsInFrames(page: Page, selector: string): Promise<string[]> {
  await webviewFrame(page, selector, 30_000);
  const out: string[] = [];
  for (const frame of page.frames()) {
    if (frame === page.mainFrame() || frame.isDetached()) continue;
    out.push(...await visibleTexts(frame.locator(selector)).catch(() => []));
  }
  return out;
}

/** The element our webviews render into (webview/html.ts). */
const WEBVIEW_ROOT = '#root';

async function visibleTexts(locator: Locator): Promise<string[]> {
  const out: string[] = [];
  for (const item of await locator.all()) {
    if (await item.isVisible()) out.push((await item.innerText()).replace(/\s+/g, ' ').trim());
  }
  return out;
}

export async function saveScreenshot(page: Page, dir: string, name: string, selector?: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name.replace(/[^\w.-]+/g, '_')}.png`);
  if (selector) await page.locator(selector).screenshot({ path: file });
  else await page.screenshot({ path: file });
  return file;
}

/** Performs one request a suite sent through ui-bridge; returns what a query action found. */
export async function performUiRequest(page: Page, req: UiRequest, screenshotDir: string): Promise<unknown> {
  switch (req.action) {
    case 'palette': return runPaletteCommand(page, req.arg);
    case 'paletteItems': return paletteItems(page, req.arg);
    case 'press': return page.keyboard.press(req.arg);
    case 'type': return page.keyboard.type(req.arg);
    case 'quickPick': return pickQuickItem(page, req.arg);
    case 'quickPickItems': return quickPickItems(page);
    case 'click': return page.locator(req.arg).first().click({ timeout: 15_000 });
    case 'texts': return visibleTexts(page.locator(req.arg));
    case 'webviewClick': return (await webviewFrame(page, req.arg)).locator(req.arg).first().click({ timeout: 15_000 });
    // (in the webview that renders a panel: what it lists may be nothing)
    case 'webviewTexts': return visibleTexts((await webviewFrame(page, WEBVIEW_ROOT)).locator(req.arg));
    case 'screenshot': await saveScreenshot(page, screenshotDir, req.arg); return;
    case 'screenshotSidebar': await saveScreenshot(page, screenshotDir, req.arg, '.part.sidebar'); return;
    case 'frameTexts': return visibleTextsInFrames(page, req.arg);
    case 'screenshotEditor': await saveScreenshot(page, screenshotDir, req.arg, '.part.editor'); return;
  }
}
