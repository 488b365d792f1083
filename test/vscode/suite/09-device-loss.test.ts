import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import { killQemu, p4jit, ui, workspaceUri } from './helpers.js';

suite('device loss', () => {
  test('a lost device shows at once, its functions go stale, and the next call reconnects and reloads', async () => {
    const api = await p4jit();
    const r = await vscode.commands.executeCommand<any>('p4jit.runFunction', workspaceUri('src/basics.c'), 'answer', []);
    assert.equal(r?.returnValue, 42);
    const key = api.device.loadedFunctions().find((f) => f.name === 'answer')!.key;

    killQemu(api);
    await ui.waitFor(() => api.device.state === 'disconnected', 'the loss to be noticed');
    assert.equal(api.statusText(), '$(debug-disconnect) P4-JIT');
    assert.match(api.statusTooltip(), /not connected \(/);
    const stale = api.device.loadedFunctions().find((f) => f.key === key);
    assert.equal(stale?.stale, true, 'answer is listed as stale');

    // Calling the stale function starts a new emulator and loads it again rather than calling a dead address.
    const again = await vscode.commands.executeCommand<any>('p4jit.exec', key, []);
    assert.equal(again?.returnValue, 42);
    assert.equal(api.device.state, 'connected');
    assert.equal(api.device.loadedFunctions().find((f) => f.key === key)?.stale, false);
    assert.equal(api.statusText(), '$(vm) Emulated ESP32-P4');
  });
});
