import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import { Emulator } from '../../../extension/emulator/launcher.js';
import { p4jit, ui, until } from './helpers.js';

const SECRET = 'correct horse battery staple';

suite('a device that requires authentication', () => {
  test('asks for the secret once, in a password box, and connects; the next connection asks nothing', async function () {
    if (!ui.uiDriverAvailable()) this.skip();
    const api = await p4jit();
    const config = vscode.workspace.getConfiguration('p4jit');
    const before = config.inspect<string>('port')?.workspaceValue;
    // a second emulated ESP32-P4 that requires the secret, reached by its port as a board would be
    const emu = await Emulator.start({ secret: SECRET });
    try {
      await vscode.commands.executeCommand('p4jit.disconnect');
      await config.update('port', emu.port, vscode.ConfigurationTarget.Workspace);
      const connecting = vscode.commands.executeCommand('p4jit.connect');
      const title = await until(async () => (await ui.texts('.quick-input-widget .quick-input-title')).find((t) => t.includes('requires authentication')),
        'the secret prompt', 30_000);
      assert.match(title, /P4-JIT: the device requires authentication/);
      assert.deepEqual(await ui.texts('.quick-input-widget input[type="password"]'), [''], 'what is typed is hidden');
      await ui.typeText(SECRET);
      await ui.pressKeys('Enter');
      await connecting;
      assert.equal(api.device.connected, true);
      assert.equal(api.device.port, emu.port);
      const r = await vscode.commands.executeCommand<number>('p4jit.ping');
      assert.equal(typeof r, 'number', 'the authenticated session answers');

      // the secret is kept in VS Code's secret storage: reconnecting asks nothing
      await vscode.commands.executeCommand('p4jit.disconnect');
      await vscode.commands.executeCommand('p4jit.connect');
      assert.equal(api.device.connected, true);
      assert.deepEqual(await ui.texts('.quick-input-widget .quick-input-title'), [], 'no prompt the second time');
    } finally {
      await vscode.commands.executeCommand('p4jit.disconnect');
      await config.update('port', before, vscode.ConfigurationTarget.Workspace);
      await emu.stop();
    }
  });
});
