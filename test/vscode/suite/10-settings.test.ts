import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import { p4jit, Scratch, workspaceUri } from './helpers.js';

suite('settings', () => {
  const scratch = new Scratch('settings');
  suiteTeardown(() => scratch.cleanup());

  test('a bad value is reported by name and the default is used', async () => {
    const api = await p4jit();
    const config = vscode.workspace.getConfiguration('p4jit');
    await config.update('optimization', '-O9', vscode.ConfigurationTarget.Workspace);
    try {
      assert.ok(api.settingWarnings().includes('p4jit.optimization'), `warned about p4jit.optimization (${api.settingWarnings().join(', ')})`);
      const r = await vscode.commands.executeCommand<any>('p4jit.runFunction', workspaceUri('src/basics.c'), 'answer', []);
      assert.equal(r?.returnValue, 42, 'runs with the default instead');
      assert.equal(api.device.current?.settings.optimization, '-O2');
    } finally {
      await config.update('optimization', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  test('a changed setting reaches the next build', async () => {
    await p4jit();
    const uri = scratch.write('flag.c', 'int flag(void)\n{\n    return P4JIT_TEST_FLAG;\n}\n');
    const config = vscode.workspace.getConfiguration('p4jit');
    await config.update('extraFlags', ['-DP4JIT_TEST_FLAG=17'], vscode.ConfigurationTarget.Workspace);
    try {
      const r = await vscode.commands.executeCommand<any>('p4jit.runFunction', uri, 'flag', []);
      assert.equal(r?.returnValue, 17);
    } finally {
      await config.update('extraFlags', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});
