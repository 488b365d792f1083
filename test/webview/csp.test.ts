// The CSP panelHtml() writes lets the real bundle run and style itself, and nothing else.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openPanel, startHarness, type Harness } from './harness.js';
import { textColours } from './contrast.js';
import { connectedState } from './sample-state.js';
import { DARK_MODERN } from './themes.js';

let harness: Harness;

before(async () => {
  harness = await startHarness();
});
after(() => harness?.close());

test('under the CSP the bundle runs, its components are styled and nothing is blocked', async () => {
  const panel = await openPanel(harness, DARK_MODERN);
  const { page } = panel;
  const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  assert.match(csp ?? '', /default-src 'none'; script-src 'nonce-[A-Za-z0-9_-]{43}'; style-src http:\/\/127\.0\.0\.1:\d+;/);

  await panel.showState(connectedState());
  assert.equal(await page.locator('li.allocation').count(), 3, 'the script rendered the state');
  // panel.css loaded (style-src): the section header is laid out as a flex row.
  assert.equal(await page.locator('#section-heap > summary').evaluate((el) => getComputedStyle(el).display), 'flex');
  // The element library's constructable stylesheets apply: the button takes the theme's colours.
  const freeButton = await textColours(page, 'li[data-addr="0x48000000"] vscode-button', 'base');
  assert.deepEqual(freeButton.text.slice(0, 3), [0xcc, 0xcc, 0xcc]);

  assert.deepEqual(await panel.cspViolations(), []);
  assert.deepEqual(panel.errors, []);
  await panel.close();
});

test('control: a script without the CSP nonce is blocked and the violation is seen', async () => {
  const panel = await openPanel(harness, DARK_MODERN, '?wrong-nonce');
  const violations = await panel.cspViolations();
  assert.equal(violations.length, 1, violations.join('\n'));
  assert.match(violations[0], /^script-src(-elem)? blocked http:\/\/127\.0\.0\.1:\d+\/panel\.js$/);
  assert.equal(await panel.page.locator('#root').innerHTML(), '', 'the blocked bundle rendered nothing');
  assert.deepEqual(await panel.posted(), []);
  await panel.close();
});
