import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import { p4jit, until, workspaceUri } from './helpers.js';

suite('a hung device', () => {
  test('a call that disables interrupts and loops: the emulator is restarted for the user, and the next run works', async () => {
    const api = await p4jit();
    const ok = await vscode.commands.executeCommand<any>('p4jit.runFunction', workspaceUri('src/basics.c'), 'answer', []);
    assert.equal(ok?.returnValue, 42);
    const before = api.device.emulatorPid;
    assert.ok(before, 'an emulator of our own');

    // the error is a notification (no result); the emulator is replaced by a fresh one
    const r = await vscode.commands.executeCommand<any>('p4jit.runFunction', workspaceUri('src/hang.c'), 'irq_off_spin', []);
    assert.equal(r, undefined);
    await until(() => api.device.state === 'connected' && api.device.emulatorPid !== undefined && api.device.emulatorPid !== before,
      'a restarted emulator', 60_000);
    assert.ok(!api.device.loadedFunctions().some((f) => !f.stale), 'nothing the hung emulator held is taken as loaded');

    const again = await vscode.commands.executeCommand<any>('p4jit.runFunction', workspaceUri('src/basics.c'), 'answer', []);
    assert.equal(again?.returnValue, 42);
  });
});
