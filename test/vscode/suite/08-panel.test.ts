import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import type { PanelState } from '../../../webview/messages.js';
import { nextCall, p4jit, Scratch, ui, workspaceUri, until } from './helpers.js';

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

  test('offers only what it will do: exact free memory, no Free on the argument buffer, Unload and Free All with Undo', async function () {
    if (!ui.uiDriverAvailable()) this.skip();
    const api = await p4jit();
    const uri = workspaceUri('src/basics.c');
    await vscode.commands.executeCommand('p4jit.runFunction', uri, 'scale', ['[1, 2, 3]', '3', '2']); // uses the argument buffer
    await vscode.commands.executeCommand('p4jit.runFunction', uri, 'add', ['1', '2']);
    await vscode.commands.executeCommand('p4jit.openPanel');
    await ui.waitFor(() => api.panelReady(), 'the panel webview to start', 60_000);
    await vscode.commands.executeCommand('p4jit.refreshPanel');

    const device = await vscode.commands.executeCommand<any>('p4jit._test.deviceHeap');
    assert.ok(device.freeSpiram < device.totalSpiram, 'something is allocated in PSRAM');
    const psram = await until(async () => (await ui.webviewTexts('#section-heap .region-head')).find((t) => t.startsWith('PSRAM')), 'the PSRAM figures');
    const [, free, total] = /PSRAM (.+) free of (.+)/.exec(psram) ?? [];
    assert.notEqual(free, total, `what is in use shows (${psram})`);

    const buffer = 'li.allocation:has(code:text-is("arguments"))';
    await until(async () => (await ui.webviewTexts(buffer)).length > 0, 'the argument buffer in the allocations');
    assert.deepEqual(await ui.webviewTexts(`${buffer} vscode-button`), [], 'no Free is offered for it');
    // README's picture of the panel: this real session on the emulated ESP32-P4.
    await ui.screenshotSidebar('panel-after-run');

    // The Undo of this very notification: earlier suites may leave other Undo toasts on screen.
    const undo = (message: string) => `.notifications-toasts .notification-toast:has-text("${message}") .monaco-button:has-text("Undo")`;
    const addKey = api.device.loadedFunctions().find((f) => f.name === 'add')!.key;
    await ui.webviewClick('vscode-button[aria-label="Unload add"]');
    await until(() => !api.device.loadedFunctions().some((f) => f.name === 'add'), 'add to be unloaded');
    // a call of what is no longer loaded (a view not yet refreshed) is answered, not ignored
    assert.equal(await vscode.commands.executeCommand('p4jit.exec', addKey, []), undefined);
    await until(async () => (await ui.texts('.notifications-toasts .notification-toast')).some((t) => t.includes('add is not loaded any more')),
      'a warning that add is not loaded');
    // and so is an Unload of it: nothing is left to free, and the user hears that
    await vscode.commands.executeCommand('p4jit.free', addKey);
    await until(async () => (await ui.texts('.notifications-toasts .notification-toast')).some((t) => t.includes('add is already unloaded')),
      'a message that add is already unloaded');
    await ui.click(undo('unloaded add'));
    await until(() => api.device.loadedFunctions().some((f) => f.name === 'add' && !f.stale), 'add loaded again by Undo', 120_000);

    // A function whose file is deleted before Undo cannot come back; the others still do, and the
    // user is told which one is missing (loaded first, so it is the first Undo tries).
    const scratch = new Scratch('panel');
    await vscode.commands.executeCommand('p4jit.freeAll');
    await vscode.commands.executeCommand('p4jit.upload', scratch.write('gone.c', 'int gone(void) { return 7; }\n'), 'gone');
    await vscode.commands.executeCommand('p4jit.upload', uri, 'scale');
    await vscode.commands.executeCommand('p4jit.upload', uri, 'add');
    await scratch.cleanup();
    await ui.palette('P4-JIT: Free All Loaded Functions');
    await until(() => api.device.loadedFunctions().length === 0, 'everything freed');
    await ui.click(undo('P4-JIT: freed 3 loaded functions'));
    await until(() => ['add', 'scale'].every((n) => api.device.loadedFunctions().some((f) => f.name === n)), 'both loaded again', 120_000);
    await until(async () => (await ui.texts('.notifications-toasts .notification-toast')).some((t) => t.includes('could not load again: gone (gone.c)')),
      'a warning naming the function that could not come back');

    // The emulator runs: the palette offers to stop it, not to start it.
    const items = await until(async () => {
      const labels = await ui.paletteItems('emulator');
      return labels.some((l) => l.includes('Stop Emulator')) ? labels : undefined;
    }, 'Stop Emulator in the palette', 20_000);
    assert.ok(!items.some((l) => l.includes('Start Emulator')), `Start is not offered (${items.join(' | ')})`);
  });

  test('two functions of one name in two files: Run in the panel calls the one clicked', async function () {
    if (!ui.uiDriverAvailable()) this.skip();
    const api = await p4jit();
    const scratch = new Scratch('panel-namesakes');
    try {
      await vscode.commands.executeCommand('p4jit.upload', scratch.write('left.c', 'int init(void) { return 1; }\n'), 'init');
      await vscode.commands.executeCommand('p4jit.upload', scratch.write('right.c', 'int init(void) { return 2; }\n'), 'init');
      await vscode.commands.executeCommand('p4jit.openPanel');
      await ui.waitFor(() => api.panelReady(), 'the panel webview to start', 60_000);
      await vscode.commands.executeCommand('p4jit.refreshPanel');
      for (const [file, value] of [['right.c', 2], ['left.c', 1]] as const) {
        const previous = api.device.history()[0];
        await ui.webviewClick(`vscode-button[aria-label="Run init in ${file}"]`);
        const call = await nextCall(api, 'init', previous);
        assert.equal(call.returnValue, value, `Run init in ${file} called ${file}'s init`);
      }
    } finally {
      await vscode.commands.executeCommand('p4jit.freeAll');
      await scratch.cleanup();
    }
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
