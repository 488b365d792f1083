// Plain Node tests (node --test) of the suite <-> runner UI protocol, without a browser: a stand-in
// runner reads the request lines the suite side logs and answers through the reply files.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { formatUiRequest, parseUiRequest, pickQuickItem, palette, UI_BRIDGE_ENV, uiDriverAvailable, writeUiReply, type UiRequest } from './ui-bridge.js';

let dir: string;
const seen: UiRequest[] = [];
const realLog = console.log;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ui-bridge-'));
  process.env[UI_BRIDGE_ENV] = dir;
  // Stand-in runner: what the page console would show, decorated the way a forwarded line may be.
  console.log = (line: string) => {
    const req = parseUiRequest(`[Extension Host] ${line}`);
    if (!req) return realLog(line);
    seen.push(req);
    setTimeout(() => writeUiReply(dir, req.id, req.arg === 'Missing'
      ? { ok: false, error: 'quick pick has no item "Missing"' }
      : { ok: true }), 20);
  };
});

after(() => {
  console.log = realLog;
  delete process.env[UI_BRIDGE_ENV];
  rmSync(dir, { recursive: true, force: true });
});

test('request lines survive titles with quotes, colons and non-ASCII text', () => {
  const req: UiRequest = { id: '42-7', action: 'palette', arg: 'P4-JIT: Run "hot" ▶ ünïcode \\ path' };
  assert.deepEqual(parseUiRequest(`%c[Extension Host] ${formatUiRequest(req)} color: blue`), req);
  assert.equal(parseUiRequest('P4JIT-UI[1] launchMissiles "now"'), undefined);
  assert.equal(parseUiRequest('an ordinary log line'), undefined);
});

test('a request resolves once the runner replies, and the reply file is consumed', async () => {
  assert.equal(uiDriverAvailable(), true);
  await palette('Harness: Greet');
  assert.equal(seen.at(-1)?.action, 'palette');
  assert.equal(seen.at(-1)?.arg, 'Harness: Greet');
  assert.deepEqual(readdirSync(dir), []);
});

test('a failed action rejects with the runner\'s reason', async () => {
  await assert.rejects(pickQuickItem('Missing'), /quick pick has no item "Missing"/);
});

test('without a runner the helper says so instead of hanging', async () => {
  const saved = process.env[UI_BRIDGE_ENV];
  delete process.env[UI_BRIDGE_ENV];
  try {
    assert.equal(uiDriverAvailable(), false);
    await assert.rejects(palette('anything'), /no UI driver/);
  } finally {
    process.env[UI_BRIDGE_ENV] = saved;
  }
});
