// The panel follows the VS Code theme and stays readable in light and dark.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { openPanel, screenshotDir, startHarness, type Harness } from './harness.js';
import { contrastRatio, textColours, type Rgba } from './contrast.js';
import { hexToRgba, paintedMiddleRow, shareOf } from './pixels.js';
import { connectedState } from './sample-state.js';
import { DARK_MODERN, LIGHT_MODERN, type WebviewTheme } from './themes.js';

let harness: Harness;

before(async () => {
  harness = await startHarness();
  await mkdir(screenshotDir, { recursive: true });
});
after(() => harness?.close());

/** Text that must meet WCAG AA for normal text (4.5:1) in both themes. */
const READABLE_TEXT: Array<[what: string, selector: string, part?: string]> = [
  ['body text', '[data-addr="0x48000000"] .name'],
  ['secondary text', '#section-functions .item .muted'],
  ['section header', '#section-heap .section-title'],
  ['caps chip', '.cap'],
  ['return value', '[data-call="2"] .value'],
  ['program output', '[data-call="2"] .output'],
  ['fault message', '[data-call="3"] .fault'],
  ['source link', '.source-link'],
  ['row action button', 'li[data-addr="0x48000000"] vscode-button', 'base'],
];

interface Rendered {
  colours: Record<string, Rgba>;
}

async function renderIn(theme: WebviewTheme, screenshot: string): Promise<Rendered> {
  const panel = await openPanel(harness, theme);
  await panel.showState(connectedState());
  const colours: Record<string, Rgba> = {};
  for (const [what, selector, part] of READABLE_TEXT) {
    const { text, background, ratio } = await textColours(panel.page, selector, part);
    assert.ok(ratio >= 4.5, `${theme.kind}: ${what} contrast ${ratio.toFixed(2)} (text ${text}, background ${background})`);
    colours[what] = text;
    colours[`${what} background`] = background;
  }
  // The heap bars are painted in the theme's colours and stand out from their track
  // (WCAG's 3:1 for graphics).
  const track = (await textColours(panel.page, 'meter.bar')).background;
  for (const [region, colourName] of [[1, 'progressBar-background'], [2, 'editorWarning-foreground']] as const) {
    const fill = hexToRgba(theme.variables[colourName]);
    const row = await paintedMiddleRow(panel.page, `#section-heap .region:nth-child(${region}) meter`);
    assert.ok(shareOf(row, fill) > 0.3, `${theme.kind}: region ${region} is drawn in ${colourName}`);
    assert.ok(contrastRatio(fill, track) >= 3, `${theme.kind}: ${colourName} against the bar track ${contrastRatio(fill, track).toFixed(2)}`);
  }

  await panel.page.screenshot({ path: path.join(screenshotDir, screenshot), fullPage: true });
  assert.deepEqual(await panel.cspViolations(), []);
  assert.deepEqual(panel.errors, []);
  await panel.close();
  return { colours };
}

test('light and dark themes both render readable text, in different colours', async () => {
  const dark = await renderIn(DARK_MODERN, 'panel-dark.png');
  const light = await renderIn(LIGHT_MODERN, 'panel-light.png');
  for (const key of ['body text', 'body text background', 'source link', 'row action button background']) {
    assert.notDeepEqual(dark.colours[key], light.colours[key], `${key} follows the theme`);
  }
  // Dark theme: light text on a dark background, and the reverse.
  const brightness = (c: Rgba) => c[0] + c[1] + c[2];
  assert.ok(brightness(dark.colours['body text']) > brightness(dark.colours['body text background']));
  assert.ok(brightness(light.colours['body text']) < brightness(light.colours['body text background']));
});

test('the primary Connect button is readable in both themes', async () => {
  for (const theme of [DARK_MODERN, LIGHT_MODERN]) {
    const panel = await openPanel(harness, theme);
    const { ratio, background } = await textColours(panel.page, 'vscode-button.connect', 'base');
    assert.ok(ratio >= 4.5, `${theme.kind}: Connect button contrast ${ratio.toFixed(2)}`);
    const expected = theme.variables['button-background'];
    assert.equal(rgbToHex(background), expected, `${theme.kind}: the button takes --vscode-button-background`);
    await panel.close();
  }
});

function rgbToHex([r, g, b]: Rgba): string {
  return '#' + [r, g, b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
}
