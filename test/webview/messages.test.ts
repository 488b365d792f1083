// Pure parts of the panel: the message contract, display formatting, the HTML document.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  emptyPanelState, isExtensionMessage, parseWebviewMessage, targetsKnownItem, type WebviewMessage,
} from '../../webview/messages.js';
import { baseName, decodeCaps, formatBytes, formatCount, formatHex, formatMicros, usedPercent } from '../../extension/session/units.js';
import { createNonce, panelCsp, panelHtml } from '../../webview/html.js';
import { connectedState } from './sample-state.js';

test('well-formed webview messages parse to themselves', () => {
  const messages: WebviewMessage[] = [
    { type: 'ready' }, { type: 'refresh' }, { type: 'connect' }, { type: 'connect', action: 'connect' },
    { type: 'freeAllocation', addr: 0 }, { type: 'freeAllocation', addr: 0xffff_ffff, action: 'free:4294967295' },
    { type: 'freeFunction', key: '/src/dot.c::dot_product' }, { type: 'runFunction', key: 'C:\\src\\a.c::_start2', action: 'run:C:\\src\\a.c::_start2' },
    { type: 'openSource', file: 'C:\\src\\a.c', line: 1 },
    { type: 'exportArray', call: 3, name: 'y' },
  ];
  for (const message of messages) assert.deepEqual(parseWebviewMessage(message), message);
});

test('malformed webview messages are rejected', () => {
  const bad: unknown[] = [
    null, undefined, 42, 'ready', [], [{ type: 'ready' }], {}, { type: 'state' }, { type: 'READY' },
    { type: 'freeAllocation' }, { type: 'freeAllocation', addr: -1 }, { type: 'freeAllocation', addr: 2 ** 32 },
    { type: 'freeAllocation', addr: 1.5 }, { type: 'freeAllocation', addr: '0x48000000' },
    { type: 'freeAllocation', addr: Number.NaN },
    { type: 'runFunction' }, { type: 'runFunction', key: '' }, { type: 'runFunction', key: 'a.c::a b' },
    { type: 'runFunction', key: 'a.c::1abc' }, { type: 'freeFunction', key: 'a.c::x;rm -rf' },
    { type: 'runFunction', key: `a.c::${'a'.repeat(256)}` }, { type: 'runFunction', key: '::main' },
    { type: 'runFunction', key: 'main' }, { type: 'runFunction', name: 'main' }, { type: 'freeFunction', key: 'a\0.c::f' },
    { type: 'runFunction', key: 'a.c::f', action: '' }, { type: 'connect', action: 7 }, { type: 'refresh', action: 'x'.repeat(5000) },
    { type: 'openSource', file: '', line: 1 }, { type: 'openSource', file: 'a.c', line: 0 },
    { type: 'openSource', file: 'a.c', line: 2.5 }, { type: 'openSource', file: 'a\0.c', line: 3 },
    { type: 'openSource', file: 'a.c' }, { type: 'openSource', line: 3 },
    { type: 'exportArray', call: -1, name: 'y' }, { type: 'exportArray', call: 1, name: 'y[0]' }, { type: 'exportArray', name: 'y' },
  ];
  for (const value of bad) assert.equal(parseWebviewMessage(value), undefined, JSON.stringify(value));
});

test('parsing keeps only the known fields', () => {
  const parsed = parseWebviewMessage({ type: 'freeAllocation', addr: 16, extra: 'x', __proto__: { y: 1 } });
  assert.deepEqual(parsed, { type: 'freeAllocation', addr: 16 });
  assert.deepEqual(Object.keys(parsed ?? {}), ['type', 'addr']);
});

test('any value either fails to parse or parses to a valid message', () => {
  const candidate = fc.oneof(
    fc.anything(),
    fc.record({
      type: fc.constantFrom('ready', 'refresh', 'connect', 'freeAllocation', 'freeFunction', 'runFunction', 'openSource', 'exportArray', 'x'),
      call: fc.oneof(fc.integer(), fc.double()),
      addr: fc.oneof(fc.integer(), fc.double(), fc.string()),
      name: fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z_]\w{0,20}$/)),
      key: fc.oneof(fc.string(), fc.stringMatching(/^[\w/.]{1,20}::[A-Za-z_]\w{0,20}$/)),
      action: fc.oneof(fc.string(), fc.integer()),
      file: fc.string(),
      line: fc.oneof(fc.integer(), fc.double()),
    }, { requiredKeys: ['type'] }),
  );
  fc.assert(fc.property(candidate, (value) => {
    const parsed = parseWebviewMessage(value);
    if (parsed === undefined) return true;
    // A parsed message parses to itself and survives the JSON round trip postMessage does.
    assert.deepEqual(parseWebviewMessage(JSON.parse(JSON.stringify(parsed))), parsed);
    return true;
  }), { numRuns: 2000 });
});

test('-0 as an id or address parses as 0, so the message is the same after postMessage\'s JSON', () => {
  // found by the property above: JSON turns -0 into 0
  for (const message of [{ type: 'exportArray', call: -0, name: '_' }, { type: 'freeAllocation', addr: -0 }]) {
    const parsed = parseWebviewMessage(message);
    assert.ok(parsed);
    assert.deepEqual(parseWebviewMessage(JSON.parse(JSON.stringify(parsed))), parsed);
    assert.ok(!Object.is((parsed as { call?: number; addr?: number }).call ?? (parsed as { addr: number }).addr, -0));
  }
});

test('targetsKnownItem accepts only what the panel was shown', () => {
  const state = connectedState();
  assert.ok(targetsKnownItem({ type: 'freeAllocation', addr: 0x4800_1000 }, state));
  assert.ok(!targetsKnownItem({ type: 'freeAllocation', addr: 0x4800_1004 }, state));
  assert.ok(targetsKnownItem({ type: 'runFunction', key: '/home/dev/led/blink.c::blink_count' }, state));
  assert.ok(!targetsKnownItem({ type: 'runFunction', key: '/home/dev/dsp/dot.c::blink_count' }, state), 'a loaded name from another file');
  assert.ok(!targetsKnownItem({ type: 'freeFunction', key: '/home/dev/dsp/dot.c::main' }, state));
  assert.ok(targetsKnownItem({ type: 'openSource', file: '/home/dev/dsp/scale.c', line: 17 }, state));
  assert.ok(!targetsKnownItem({ type: 'openSource', file: '/home/dev/dsp/scale.c', line: 18 }, state));
  assert.ok(!targetsKnownItem({ type: 'openSource', file: '/etc/passwd', line: 1 }, state));
  assert.ok(targetsKnownItem({ type: 'exportArray', call: 2, name: 'a' }, state));
  assert.ok(!targetsKnownItem({ type: 'exportArray', call: 2, name: 'b' }, state));
  assert.ok(!targetsKnownItem({ type: 'exportArray', call: 1, name: 'a' }, state));
  assert.ok(targetsKnownItem({ type: 'connect' }, emptyPanelState()));
});

test('isExtensionMessage recognises state messages only', () => {
  assert.ok(isExtensionMessage({ type: 'state', state: connectedState() }));
  assert.ok(isExtensionMessage({ type: 'state', state: emptyPanelState() }));
  assert.ok(!isExtensionMessage({ type: 'state', state: { ...emptyPanelState(), calls: null } }));
  assert.ok(!isExtensionMessage({ type: 'state' }));
  assert.ok(!isExtensionMessage({ type: 'ready' }));
  assert.ok(isExtensionMessage({ type: 'done', action: 'run:/a.c::f' }));
  assert.ok(!isExtensionMessage({ type: 'done' }));
  assert.ok(!isExtensionMessage('state'));
});

test('sizes, addresses, counts and times read naturally', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1024), '1 KiB');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(33_554_432), '32 MiB');
  assert.equal(formatBytes(33_161_216), '31.6 MiB');
  assert.equal(formatHex(0x4800_0000), '0x48000000');
  assert.equal(formatHex(0x10), '0x00000010');
  assert.equal(formatHex(0xffff_ffff), '0xffffffff');
  assert.equal(formatCount(1_234_567), '1,234,567');
  assert.equal(formatCount(412), '412');
  assert.equal(formatMicros(850), '850 µs');
  assert.equal(formatMicros(12_345), '12.3 ms');
  assert.equal(formatMicros(1_500), '1.5 ms');
  assert.equal(formatMicros(2_050_000), '2.05 s');
  assert.equal(usedPercent(25, 100), 75);
  assert.equal(usedPercent(0, 0), 0);
  assert.equal(baseName('/a/b/c.c'), 'c.c');
  assert.equal(baseName('C:\\x\\y.c'), 'y.c');
  assert.equal(baseName('plain.c'), 'plain.c');
});

test('caps bits decode to their names, unknown bits stay visible', () => {
  assert.deepEqual(decodeCaps(0), []);
  assert.deepEqual(decodeCaps((1 << 0) | (1 << 10) | (1 << 2)), ['EXEC', '8BIT', 'SPIRAM']);
  assert.deepEqual(decodeCaps((1 << 3) | (1 << 11) | (1 << 12) | (1 << 1)), ['32BIT', 'DMA', 'INTERNAL', 'DEFAULT']);
  assert.deepEqual(decodeCaps((1 << 11) | (1 << 9) | (1 << 31)), ['INTERNAL', '0x80000200']);
});

test('the HTML carries a strict CSP with the nonce on the only script', () => {
  const nonce = createNonce();
  const html = panelHtml({
    scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/panel.js?a=1&b="2"',
    styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/panel.css',
    cspSource: 'https://*.vscode-cdn.net',
    nonce,
  });
  const csp = panelCsp('https://*.vscode-cdn.net', nonce);
  assert.match(csp, /^default-src 'none'; /);
  assert.ok(csp.includes(`script-src 'nonce-${nonce}'`));
  assert.ok(csp.includes('style-src https://*.vscode-cdn.net;'));
  assert.ok(!csp.includes('unsafe-'), 'no unsafe-inline or unsafe-eval');
  assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="${csp}">`));
  assert.equal(html.match(/<script/g)?.length, 1);
  assert.ok(html.includes(`<script nonce="${nonce}" src="https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/panel.js?a=1&amp;b=&quot;2&quot;">`));
});

test('panelHtml refuses a nonce or cspSource that could break out of the CSP', () => {
  const base = { scriptUri: 'a.js', styleUri: 'a.css', cspSource: 'https://x' };
  assert.throws(() => panelHtml({ ...base, nonce: 'short' }));
  assert.throws(() => panelHtml({ ...base, nonce: "abcdefghijklmnop'; script-src *" }));
  assert.throws(() => panelHtml({ ...base, nonce: createNonce(), cspSource: "https://x; script-src 'unsafe-inline'" }));
  assert.throws(() => panelHtml({ ...base, nonce: createNonce(), cspSource: "'self' 'unsafe-inline'" }));
  assert.throws(() => panelHtml({ ...base, nonce: createNonce(), cspSource: 'https://x" onload="alert(1)' }));
});

test("panelHtml accepts VS Code's own cspSource, a list of sources", () => {
  const cspSource = "'self' https://*.vscode-cdn.net";
  const html = panelHtml({ scriptUri: 'a.js', styleUri: 'a.css', cspSource, nonce: createNonce() });
  assert.ok(html.includes(`style-src ${cspSource};`));
});

test('nonces are long, URL-safe and fresh', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const nonce = createNonce();
    assert.match(nonce, /^[A-Za-z0-9_-]{43}$/);
    seen.add(nonce);
  }
  assert.equal(seen.size, 1000);
});
