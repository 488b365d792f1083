import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import { p4jit, workspaceUri } from './helpers.js';

const RUN = '▶ Run on ESP32-P4';

async function lenses(uri: vscode.Uri): Promise<vscode.CodeLens[]> {
  return (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri)) ?? [];
}

suite('CodeLens', () => {
  test('puts "▶ Run on ESP32-P4" above every function', async () => {
    await p4jit();
    const uri = workspaceUri('src/basics.c');
    const text = (await vscode.workspace.openTextDocument(uri)).getText().split('\n');
    const runs = (await lenses(uri)).filter((l) => l.command?.title === RUN);
    const names = runs.map((l) => l.command!.arguments![1]);
    assert.deepEqual(names, ['answer', 'add', 'scale', 'shout']);
    for (const l of runs) assert.match(text[l.range.start.line], new RegExp(`\\b${l.command!.arguments![1]}\\(`));
  });

  test('running the lens runs the function and the result shows above it', async () => {
    const uri = workspaceUri('src/basics.c');
    const lens = (await lenses(uri)).find((l) => l.command?.title === RUN && l.command.arguments?.[1] === 'answer');
    assert.ok(lens?.command, 'a lens for answer()');
    const r = await vscode.commands.executeCommand<any>(lens.command.command, ...(lens.command.arguments ?? []));
    assert.ok(r, 'a result');
    assert.equal(r.returnValue, 42);
    const after = (await lenses(uri)).filter((l) => l.range.start.line === lens.range.start.line).map((l) => l.command?.title);
    assert.ok(after.some((t) => t?.startsWith('returned 42')), `a result lens (got ${after.join(' | ')})`);
  });

  test('p4jit.codeLens.enabled = false removes them', async () => {
    const config = vscode.workspace.getConfiguration('p4jit');
    await config.update('codeLens.enabled', false, vscode.ConfigurationTarget.Workspace);
    try {
      assert.equal((await lenses(workspaceUri('src/basics.c'))).length, 0);
    } finally {
      await config.update('codeLens.enabled', undefined, vscode.ConfigurationTarget.Workspace);
    }
    assert.ok((await lenses(workspaceUri('src/basics.c'))).length >= 4);
  });
});
