import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { packageRoot } from '../../../extension/util/package-root.js';
import { p4jit } from './helpers.js';

suite('activation', () => {
  test('activates and reports how long loading and activating took', async () => {
    const api = await p4jit();
    assert.ok(api.activationMs >= 0 && api.loadAndActivateMs >= api.activationMs);
    // kept for `npm run bench`, which reports it (no timing assertion here)
    const dir = join(packageRoot(), 'test-results', 'vscode');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'activation.json'), JSON.stringify({ ms: api.loadAndActivateMs, activateMs: api.activationMs, at: new Date().toISOString() }));
  });
});
