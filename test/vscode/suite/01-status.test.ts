import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import { p4jit, ui } from './helpers.js';

suite('status bar and port choice', () => {
  test('shows "not connected", then the emulated ESP32-P4 once connected', async () => {
    const api = await p4jit();
    await vscode.commands.executeCommand('p4jit.disconnect');
    assert.equal(api.statusText(), '$(debug-disconnect) P4-JIT');
    assert.match(api.statusTooltip(), /not connected/);

    await vscode.commands.executeCommand('p4jit.connect'); // the workspace sets p4jit.port to "emulator"
    assert.equal(api.device.state, 'connected', `connected (last error: ${api.device.lastError})`);
    assert.equal(api.statusText(), '$(vm) Emulated ESP32-P4');
    assert.match(api.statusTooltip(), /connected to Emulated ESP32-P4 \(qemu/);
  });

  test('the port picker, opened from the palette, stores the choice and connects', async function () {
    if (!ui.uiDriverAvailable()) this.skip();
    const api = await p4jit();
    await vscode.workspace.getConfiguration('p4jit').update('port', 'auto', vscode.ConfigurationTarget.Workspace);
    await ui.palette('P4-JIT: Select Port…');
    await ui.pickQuickItem('Emulated ESP32-P4');
    await ui.waitFor(() => vscode.workspace.getConfiguration('p4jit').get('port') === 'emulator', 'p4jit.port to become "emulator"');
    await ui.waitFor(() => api.device.state === 'connected', 'the connection', 60_000);
    assert.equal(api.statusText(), '$(vm) Emulated ESP32-P4');
    await ui.screenshot('status-bar-emulator');
  });
});
