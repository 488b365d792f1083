// The device panel in real headless Chromium: what it shows and what it sends.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { openPanel, screenshotDir, startHarness, type Harness, type PanelPage } from './harness.js';
import { CAP, connectedState, disconnectedState } from './sample-state.js';
import { DARK_MODERN } from './themes.js';
import { hexToRgba, paintedMiddleRow, shareOf } from './pixels.js';
import type { PanelState } from '../../webview/messages.js';
import { envelopeSeries } from '../../webview/plot/spec.js';

let harness: Harness;

before(async () => {
  harness = await startHarness();
  await mkdir(screenshotDir, { recursive: true });
});
after(() => harness?.close());

async function panelWith(state: PanelState): Promise<PanelPage> {
  const panel = await openPanel(harness, DARK_MODERN);
  await panel.showState(state);
  return panel;
}

/** innerText of the element, as a user sees it (collapsed whitespace). */
async function visibleText(panel: PanelPage, selector: string): Promise<string> {
  return (await panel.page.locator(selector).innerText()).replace(/\s+/g, ' ').trim();
}

test('before any state arrives the panel has said ready once and shows the empty state', async () => {
  const panel = await openPanel(harness, DARK_MODERN);
  assert.deepEqual(await panel.posted(), [{ type: 'ready' }]);
  assert.match(await visibleText(panel, 'body'), /No device connected/);
  assert.deepEqual(panel.errors, []);
  await panel.close();
});

test('a connected device shows heap, allocations, functions and calls', async () => {
  const panel = await panelWith(connectedState());
  const { page } = panel;

  const device = await visibleText(panel, '#section-device');
  assert.match(device, /Connected to the emulated ESP32-P4/);
  assert.match(device, /\/dev\/pts\/3/);
  assert.match(device, /qemu-virt, protocol 2/);

  const heap = await visibleText(panel, '#section-heap');
  assert.match(heap, /PSRAM 20 MiB free of 32 MiB/);
  assert.match(heap, /Internal RAM 60 KiB free of 768 KiB/);
  const meters = page.getByRole('meter');
  assert.equal(await meters.count(), 2);
  assert.equal(await meters.nth(0).getAttribute('aria-valuetext'), '12 MiB of 32 MiB in use (38%)');
  assert.equal(await meters.nth(1).getAttribute('aria-valuetext'), '708 KiB of 768 KiB in use (92%)');
  // The painted bars: the used share in the theme's progress colour, or its warning colour once
  // less than a tenth is free.
  const psram = await paintedMiddleRow(page, '#section-heap .region:nth-child(1) meter');
  const internal = await paintedMiddleRow(page, '#section-heap .region:nth-child(2) meter');
  const progress = hexToRgba(DARK_MODERN.variables['progressBar-background']);
  const warning = hexToRgba(DARK_MODERN.variables['editorWarning-foreground']);
  assert.ok(Math.abs(shareOf(psram, progress) - 0.375) < 0.02, `PSRAM bar ${shareOf(psram, progress)}`);
  assert.equal(shareOf(psram, warning), 0);
  assert.ok(Math.abs(shareOf(internal, warning) - 0.922) < 0.02, `internal RAM bar ${shareOf(internal, warning)}`);
  assert.equal(shareOf(internal, progress), 0);

  assert.deepEqual(await allocationTexts(panel), [
    '0x48000000 4 KiB Free EXEC 8BIT SPIRAM owned by dot_product',
    '0x48001000 1.5 KiB Free 8BIT SPIRAM owned by dot_product',
    '0x4ff00200 640 B Free DMA INTERNAL 0x00000200 no owner',
  ]);
  assert.match(await visibleText(panel, '#section-allocations summary'), /3 6\.1 KiB/);

  const dot = await visibleText(panel, '[data-function="dot_product"]');
  assert.match(dot, /4 KiB at 0x48000000 from dot\.c/);
  assert.match(dot, /Last result 140/);
  assert.doesNotMatch(dot, /stale/);
  const blink = await visibleText(panel, '[data-function="blink_count"]');
  assert.match(blink, /stale/);
  assert.match(blink, /Last result none yet/);

  const ok = await visibleText(panel, '[data-call="2"]');
  assert.match(ok, /dot_product\(\{1, 2, 3, 4\}, \{5, 6, 7, 8\}, 4\)/);
  assert.match(ok, /returned 70/);
  assert.match(ok, /1,234,567 instructions/);
  assert.match(ok, /sum so far: 70 done/);
  assert.match(ok, /Arrays after the call a 4 values Copy or Save… \[1, 2, 3, 4\]/);
  assert.match(await visibleText(panel, '[data-call="1"]'), /412 cycles · 850 µs/);

  const faulted = await visibleText(panel, '[data-call="3"]');
  assert.match(faulted, /Fault: Store access fault at 0x00000004/);
  assert.match(faulted, /at scale\.c:17/);
  assert.doesNotMatch(faulted, /returned|cycles|instructions/);

  assert.deepEqual(await panel.cspViolations(), []);
  assert.deepEqual(panel.errors, []);
  await panel.close();
});

test('free memory is shown with the precision a change needs: 17 KiB in use is not "32 MiB free of 32 MiB"', async () => {
  const state = connectedState();
  state.heap = { freeSpiram: 32 * 1024 * 1024 - 17 * 1024, totalSpiram: 32 * 1024 * 1024, freeInternal: 786_432 - 512, totalInternal: 786_432 };
  const panel = await panelWith(state);
  const heap = await visibleText(panel, '#section-heap');
  assert.match(heap, /PSRAM 31\.98 MiB free of 32 MiB/);
  assert.match(heap, /Internal RAM 767\.5 KiB free of 768 KiB/);
  assert.match(await visibleText(panel, '#section-heap summary'), /32\.7 MiB free/);
  await panel.close();
});

test('the argument buffer offers no Free (the extension would refuse it): Free All releases it', async () => {
  const state = connectedState();
  state.allocations.push({ addr: 0x4800_3000, size: 4096, caps: CAP.SPIRAM | CAP.BIT8, owner: 'arguments' });
  const panel = await panelWith(state);
  const row = panel.page.locator('li[data-addr="0x48003000"]');
  assert.match(await row.innerText(), /freed by Free All/);
  assert.equal(await row.getByRole('button').count(), 0);
  assert.equal(await panel.page.locator('li.allocation').getByRole('button', { name: /^Free / }).count(), 3, 'the others keep theirs');
  await panel.close();
});

async function allocationTexts(panel: PanelPage): Promise<string[]> {
  return panel.page.locator('li.allocation').evaluateAll((items) =>
    items.map((item) => (item as HTMLElement).innerText.replace(/\s+/g, ' ').trim()));
}

test('a new state re-renders in place: unchanged rows keep their elements', async () => {
  const panel = await panelWith(connectedState());
  const { page } = panel;
  // Mark the DOM node of the row that stays.
  await page.locator('li[data-addr="0x4ff00200"]').evaluate((row) => { (row as HTMLElement & { marked?: boolean }).marked = true; });

  const next = connectedState();
  next.allocations = next.allocations.filter((a) => a.addr !== 0x4800_1000);
  next.allocations[1].owner = 'scale_buffer';
  next.heap!.freeSpiram -= 1536;
  await panel.showState(next);

  assert.deepEqual((await allocationTexts(panel)).map((text) => text.split(' ')[0]), ['0x48000000', '0x4ff00200']);
  const kept = page.locator('li[data-addr="0x4ff00200"]');
  assert.equal(await kept.evaluate((row) => (row as HTMLElement & { marked?: boolean }).marked), true);
  assert.match(await kept.innerText(), /scale_buffer/);
  await panel.close();
});

test('Free sends exactly freeAllocation with the address, once until the extension answers', async () => {
  const panel = await panelWith(connectedState());
  await panel.clearPosted();
  const free = panel.page.getByRole('button', { name: 'Free 1.5 KiB at 0x48001000' });
  await free.click();
  assert.deepEqual(await panel.posted(), [{ type: 'freeAllocation', addr: 0x4800_1000, action: 'free:1207963648' }]);
  // Disabled while the extension works on it: a second click sends nothing.
  assert.equal(await free.getAttribute('disabled'), '');
  await free.click({ force: true });
  assert.equal((await panel.posted()).length, 1);
  // The extension's answer and the next state (the allocation gone) end the wait.
  const next = connectedState();
  next.allocations.splice(1, 1);
  await panel.showState(next);
  await panel.showDone('free:1207963648');
  assert.equal(await free.count(), 0);
  assert.equal(await panel.page.getByRole('button', { name: 'Free 4 KiB at 0x48000000' }).getAttribute('disabled'), null);
  await panel.close();
});

test('actions work from the keyboard alone', async () => {
  const panel = await panelWith(connectedState());
  const { page } = panel;
  await panel.clearPosted();
  // Tab through the panel from the top until the Free button of the third row has focus.
  const target = 'Free 640 B at 0x4ff00200';
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate((name) => document.activeElement?.getAttribute('aria-label') === name, target);
  }
  assert.ok(reached, `Tab reaches "${target}"`);
  await page.keyboard.press('Enter');
  assert.deepEqual(await panel.posted(), [{ type: 'freeAllocation', addr: 0x4ff0_0200, action: `free:${0x4ff0_0200}` }]);

  // A section header toggles with the keyboard and reports its state.
  const summary = page.locator('#section-heap > summary');
  await summary.focus();
  await page.keyboard.press('Space');
  assert.equal(await page.locator('#section-heap').evaluate((d) => (d as HTMLDetailsElement).open), false);
  assert.equal(await page.locator('meter').count(), 2, 'closed sections keep their content in the DOM');
  assert.equal(await page.locator('meter').first().isVisible(), false);
  await page.keyboard.press('Enter');
  assert.equal(await page.locator('meter').first().isVisible(), true);
  await panel.close();
});

test('Run and Unload name the function by its session key; two functions of one name are told apart by their files', async () => {
  const state = connectedState();
  state.functions.push(
    { key: '/home/dev/a/init.c::init', name: 'init', file: '/home/dev/a/init.c', addr: 0x4800_3000, size: 64, stale: false, lastResult: '1' },
    { key: '/home/dev/b/setup.c::init', name: 'init', file: '/home/dev/b/setup.c', addr: 0x4800_4000, size: 64, stale: false, lastResult: '2' },
  );
  const panel = await panelWith(state);
  await panel.clearPosted();
  await panel.page.getByRole('button', { name: 'Run blink_count', exact: true }).click();
  await panel.page.getByRole('button', { name: 'Unload dot_product', exact: true }).click();
  await panel.page.getByRole('button', { name: 'Run init in setup.c', exact: true }).click();
  assert.deepEqual(await panel.posted(), [
    { type: 'runFunction', key: '/home/dev/led/blink.c::blink_count', action: 'run:/home/dev/led/blink.c::blink_count' },
    { type: 'freeFunction', key: '/home/dev/dsp/dot.c::dot_product', action: 'unload:/home/dev/dsp/dot.c::dot_product' },
    { type: 'runFunction', key: '/home/dev/b/setup.c::init', action: 'run:/home/dev/b/setup.c::init' },
  ]);
  assert.equal(await panel.page.getByRole('button', { name: 'Run init in init.c', exact: true }).getAttribute('disabled'), null, 'the other init is not busy');
  await panel.close();
});

test('a button stays busy until its own action is done, not until the next state (a poll)', async () => {
  const panel = await panelWith(connectedState());
  const run = panel.page.getByRole('button', { name: 'Run blink_count', exact: true });
  // disabled by the click itself, within the same task, not on a later frame a second input could beat
  const disabledAtOnce = await run.evaluate((button: HTMLElement) => {
    button.click();
    return button.hasAttribute('disabled');
  });
  assert.equal(disabledAtOnce, true, 'the click disables its button at once');
  assert.equal(await run.getAttribute('disabled'), '');
  await panel.showState(connectedState()); // a poll while the run still waits for its arguments
  assert.equal(await run.getAttribute('disabled'), '', 'a state does not end the run');
  await run.click({ force: true });
  assert.equal((await panel.posted()).filter((m) => m.type === 'runFunction').length, 1, 'a second click sends nothing');
  await panel.showDone('run:/home/dev/led/blink.c::blink_count');
  assert.equal(await run.getAttribute('disabled'), null);
  await panel.close();
});

test('the fault location opens the source', async () => {
  const panel = await panelWith(connectedState());
  await panel.clearPosted();
  const link = panel.page.getByRole('button', { name: 'Open /home/dev/dsp/scale.c at line 17' });
  assert.equal(await link.innerText(), 'scale.c:17');
  await link.click();
  assert.deepEqual(await panel.posted(), [{ type: 'openSource', file: '/home/dev/dsp/scale.c', line: 17 }]);
  await panel.close();
});

test('Refresh asks the extension to re-read the device', async () => {
  const panel = await panelWith(connectedState());
  await panel.clearPosted();
  await panel.page.getByRole('button', { name: 'Refresh heap and allocations from the device' }).click();
  assert.deepEqual(await panel.posted(), [{ type: 'refresh', action: 'refresh' }]);
  await panel.close();
});

test('with no device: a clear empty state whose Connect button sends connect', async () => {
  const panel = await panelWith(disconnectedState());
  const { page } = panel;
  assert.match(await visibleText(panel, 'body'), /No device connected/);
  assert.equal(await page.locator('details.section').count(), 0, 'no device sections without a device');
  await page.screenshot({ path: path.join(screenshotDir, 'panel-empty.png') });
  await panel.clearPosted();
  await page.getByRole('button', { name: 'Connect to an ESP32-P4 or the emulated one' }).click();
  assert.deepEqual(await panel.posted(), [{ type: 'connect', action: 'connect' }]);

  const failed = disconnectedState();
  failed.connection.error = 'No answer from /dev/ttyACM0 within 2000 ms';
  await panel.showState(failed);
  assert.match(await visibleText(panel, '.notice'), /Last attempt failed: No answer from \/dev\/ttyACM0 within 2000 ms/);
  assert.deepEqual(panel.errors, []);
  await panel.close();
});

test('connecting shows progress; results of earlier calls stay visible after a disconnect', async () => {
  const panel = await panelWith({
    ...disconnectedState(),
    connection: { state: 'connecting', port: '/dev/pts/7', emulated: true, firmware: null },
  });
  assert.match(await visibleText(panel, 'body'), /Connecting… Waiting for the emulated ESP32-P4 on \/dev\/pts\/7 to answer\./);
  assert.equal(await panel.page.getByRole('progressbar', { name: 'Connecting' }).count(), 1);

  await panel.showState({ ...disconnectedState(), calls: connectedState().calls });
  assert.match(await visibleText(panel, 'body'), /No device connected/);
  assert.equal(await panel.page.locator('li.call').count(), 3);
  await panel.close();
});

test('closed sections stay closed when the webview is reloaded', async () => {
  const panel = await panelWith(connectedState());
  await panel.page.locator('#section-allocations > summary').click();
  await panel.reload();
  assert.deepEqual(await panel.posted(), [{ type: 'ready' }], 'the reloaded panel asks for state again');
  await panel.showState(connectedState());
  assert.equal(await panel.page.locator('#section-allocations').evaluate((d) => (d as HTMLDetailsElement).open), false);
  assert.equal(await panel.page.locator('#section-heap').evaluate((d) => (d as HTMLDetailsElement).open), true);
  await panel.close();
});

test('a function reloaded into a larger allocation says so beside its size', async () => {
  const state = connectedState();
  state.functions = [{ key: '/home/dev/dsp/g.c::grown', name: 'grown', file: '/home/dev/dsp/g.c', addr: 0x4800_0000, size: 412, allocSize: 1024, stale: false, lastResult: null }];
  state.allocations = [{ addr: 0x4800_0000, size: 1024, caps: CAP.EXEC | CAP.SPIRAM | CAP.BIT8, owner: 'grown' }];
  const panel = await panelWith(state);
  assert.match(await visibleText(panel, '[data-function="grown"]'), /412 B in a 1 KiB slot \(room to grow\) at 0x48000000/);
  await panel.close();
});

test('an array after a call shows as a small plot; its numbers come on demand; short arrays stay numbers', async () => {
  const state = connectedState();
  const y = Array.from({ length: 4800 }, (_, i) => Math.sin((2 * Math.PI * i) / 480));
  state.calls[0] = {
    ...state.calls[0], id: 7, function: 'fir', args: ['x', 'y', '4800'], returnValue: 'void', fault: null,
    arrays: [
      { name: 'y', values: '[0, 0.013, 0.026, … 4797 more]', length: 4800, plot: envelopeSeries('y', y) },
      { name: 'a', values: '[1, 2, 3, 4]', length: 4 },
    ],
  };
  const panel = await panelWith(state);
  const { page } = panel;
  const plot = page.locator('li.call[data-call="7"] .array-plot');
  assert.equal(await plot.count(), 1, 'one plot: the short array stays as numbers');
  assert.equal(await plot.locator('canvas').count(), 1);
  const numbers = page.locator('li.call[data-call="7"] details:has(summary:text-is("Numbers"))');
  assert.equal(await numbers.locator('code').isVisible(), false, 'the numbers are folded away');
  await numbers.locator('summary').click();
  assert.match(await numbers.locator('code').innerText(), /4797 more/);
  assert.match(await visibleText(panel, 'li.call[data-call="7"]'), /\[1, 2, 3, 4\]/);

  // the sine is drawn: its middle row is painted in the series colour somewhere, not only background
  const row = await paintedMiddleRow(page, 'li.call[data-call="7"] .array-plot canvas');
  assert.ok(new Set(row.map((c) => c.join())).size > 2, 'the plot has drawn pixels');
  await page.locator('li.call[data-call="7"]').screenshot({ path: path.join(screenshotDir, 'panel-array-plot.png') });

  // a new state for the same call keeps the chart (no redraw flicker on every poll)
  const before = await plot.locator('canvas').elementHandle();
  await panel.showState(state);
  assert.equal(await before!.evaluate((c) => c.isConnected), true);
  await panel.close();
});
