import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import { answerPrompts, nextCall, openAt, p4jit, ui, until, workspaceUri } from './helpers.js';

suite('command palette', () => {
  test('Upload, Call Loaded Function and Free, driven as a user would', async function () {
    if (!ui.uiDriverAvailable()) this.skip();
    const api = await p4jit();
    await vscode.commands.executeCommand('p4jit.freeAll');
    assert.deepEqual(api.device.loadedFunctions(), []);

    await openAt('src/basics.c', 'return a + b;');
    const previous = api.device.history()[0];
    await ui.palette('P4-JIT: Upload Function (Load Without Running)');
    const loaded = await until(() => api.device.loadedFunctions().find((f) => f.name === 'add'), 'add to be loaded', 120_000);
    assert.equal(loaded.stale, false);
    assert.equal(api.device.history()[0], previous, 'uploading does not call');

    await ui.palette('P4-JIT: Call Loaded Function (Exec)…');
    await ui.pickQuickItem('add');
    await answerPrompts(api, ['5', '6']);
    const call = await nextCall(api, 'add', previous);
    assert.equal(call.returnValue, 11);

    const allocations = await api.device.current!.allocations();
    assert.ok(allocations.some((a) => a.addr === loaded.addr && a.owner === 'add'), 'its code is allocated on the device');
    await ui.palette('P4-JIT: Free Loaded Function (Unload)…');
    await ui.pickQuickItem('add');
    await ui.waitFor(() => !api.device.loadedFunctions().some((f) => f.name === 'add'), 'add to be freed');
    const after = await api.device.current!.allocations();
    assert.ok(!after.some((a) => a.addr === loaded.addr), 'its code was freed on the device');
  });

  test('finds every command by the words users type: exec, emulator, upload, free', async function () {
    if (!ui.uiDriverAvailable()) this.skip();
    await openAt('src/basics.c', 'return a + b;'); // uploading is offered in C files
    const wanted: [word: string, title: RegExp][] = [
      ['exec', /^P4-JIT: Call Loaded Function \(Exec\)…$/],
      ['emulator', /^P4-JIT: (Start|Stop) Emulator \(Emulated ESP32-P4\)$/],
      ['upload', /^P4-JIT: Upload Function \(Load Without Running\)$/],
      ['free', /^P4-JIT: Free Loaded Function \(Unload\)…$/],
      ['free', /^P4-JIT: Free All Loaded Functions$/],
    ];
    for (const [word, title] of wanted) {
      await until(async () => (await ui.paletteItems(word)).some((label) => title.test(label)),
        `the palette to list ${title} for "${word}"`, 20_000);
    }
  });

  test('Run on ESP32-P4 with the cursor outside any function offers the file\'s functions', async function () {
    if (!ui.uiDriverAvailable()) this.skip();
    const api = await p4jit();
    await openAt('src/basics.c', 'Functions the extension'); // the comment on the first line
    const previous = api.device.history()[0];
    await ui.palette('P4-JIT: Run on ESP32-P4');
    const items = await until(async () => {
      const labels = await ui.quickPickItems();
      return labels.includes('answer') ? labels : undefined;
    }, 'a pick of the file\'s functions', 30_000);
    for (const name of ['add', 'scale', 'shout']) assert.ok(items.includes(name), `${name} is offered`);
    await ui.pickQuickItem('answer');
    const call = await nextCall(api, 'answer', previous);
    assert.equal(call.returnValue, 42);
  });

  test('Free All frees every loaded function on the device', async () => {
    const api = await p4jit();
    const uri = workspaceUri('src/basics.c');
    await vscode.commands.executeCommand('p4jit.upload', uri, 'answer');
    await vscode.commands.executeCommand('p4jit.upload', uri, 'add');
    assert.equal(api.device.loadedFunctions().length, 2);
    await vscode.commands.executeCommand('p4jit.freeAll');
    assert.deepEqual(api.device.loadedFunctions(), []);
    assert.deepEqual(await api.device.current!.allocations(), []);
  });

  test('Ping and Show Device Info talk to the device', async () => {
    const ms = await vscode.commands.executeCommand<number>('p4jit.ping');
    assert.equal(typeof ms, 'number');
    const info = await vscode.commands.executeCommand<any>('p4jit.showInfo');
    assert.ok(info, 'INFO answered');
    assert.ok(info.maxArgs > 0);
    assert.ok(info.protocolVersion >= 2);
  });

  test('Show Disassembly opens a listing of a loaded function', async () => {
    await p4jit(); // the extension is active
    const uri = workspaceUri('src/basics.c');
    const fn = await vscode.commands.executeCommand<any>('p4jit.upload', uri, 'answer');
    assert.ok(fn, 'answer loaded');
    const editor = await vscode.commands.executeCommand<vscode.TextEditor>('p4jit.showDisassembly', fn.key);
    assert.equal(editor.document.uri.scheme, 'p4jit-disasm');
    const text = editor.document.getText();
    assert.match(text, /^answer: +# 0x[0-9a-f]{8}$/m, 'the function');
    assert.match(text, /^ {4}[0-9a-f]{8}: +ret$/m, 'its instructions, with their device addresses');
    assert.ok(text.includes(`${fn.addr.toString(16)}`.slice(0, 6)), 'linked at the address the device allocated');
    assert.match(text, /^# src\/basics\.c:\d+  \S/m, `source lines are interleaved:\n${text}`);
    assert.match(text, /^__p4jit_entry: +# 0x[0-9a-f]{8}$/m, 'the entry the device calls, after it');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
