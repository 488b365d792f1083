import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import type { PanelState } from '../../../webview/messages.js';
import { p4jit, ui, workspaceUri, until } from './helpers.js';

const panelState = () => vscode.commands.executeCommand<PanelState | null>('p4jit._test.panelState');

suite('device panel', () => {
  test('the webview loads and shows the heap figures the device reports (HEAP_INFO)', async () => {
    const api = await p4jit();
    const r = await vscode.commands.executeCommand<any>('p4jit.runFunction', workspaceUri('src/basics.c'), 'answer', []);
    assert.equal(r?.returnValue, 42);
    await vscode.commands.executeCommand('p4jit.openPanel');
    await ui.waitFor(() => api.panelReady(), 'the panel webview to start', 60_000);

    await vscode.commands.executeCommand('p4jit.refreshPanel');
    const device = await vscode.commands.executeCommand<any>('p4jit._test.deviceHeap');
    await vscode.commands.executeCommand('p4jit.refreshPanel');
    const state = await panelState();
    assert.ok(state?.heap, 'the panel has heap figures');
    assert.deepEqual(state.heap, device);
    assert.ok(device.totalSpiram > 0 && device.freeSpiram <= device.totalSpiram);

    assert.equal(state.connection.state, 'connected');
    assert.equal(state.connection.emulated, true);
    const fn = state.functions.find((f) => f.name === 'answer');
    assert.ok(fn, 'answer is listed');
    assert.ok(state.allocations.some((a) => a.addr === fn.addr && a.owner === 'answer'), 'its allocation is listed and attributed');
    assert.equal(state.calls[0].function, 'answer');
    assert.match(state.calls[0].returnValue ?? '', /^42\b/);
    if (ui.uiDriverAvailable()) await ui.screenshot('device-panel');
  });

  test('shows the empty state when disconnected', async () => {
    const api = await p4jit();
    await vscode.commands.executeCommand('p4jit.disconnect');
    const state = await until(async () => {
      const s = await panelState();
      return s?.connection.state === 'disconnected' ? s : undefined;
    }, 'the disconnected state');
    assert.equal(state.heap, null);
    assert.deepEqual(state.allocations, []);
    assert.ok(api.panelReady());
    await vscode.commands.executeCommand('p4jit.connect');
    assert.equal(api.device.state, 'connected');
  });
});
