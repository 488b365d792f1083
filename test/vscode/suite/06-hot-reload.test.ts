import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import type { ReloadOutcome } from '../../../extension/vscode/load-task.js';
import { diagnosticsOf, p4jit, Scratch, until } from './helpers.js';

suite('compile on save (hot reload)', () => {
  const scratch = new Scratch();
  let uri: vscode.Uri;
  suiteTeardown(() => scratch.cleanup());

  /** Replaces `from` by `to` in the open document and saves it, as a user would. */
  async function editAndSave(doc: vscode.TextDocument, from: string, to: string): Promise<void> {
    const at = doc.getText().indexOf(from);
    assert.ok(at >= 0, `${from} is in the file`);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(doc.positionAt(at), doc.positionAt(at + from.length)), to);
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.ok(await doc.save());
  }

  async function nextReload(): Promise<ReloadOutcome> {
    const api = await p4jit();
    return new Promise((resolve) => {
      const sub = api.onDidReload((o) => {
        sub.dispose();
        resolve(o);
      });
    });
  }

  test('saving rebuilds and reloads a loaded function; the next call runs the new code', async () => {
    const api = await p4jit();
    uri = scratch.write('hot.c', 'int version(void)\n{\n    return 1;\n}\n');
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    const first = await vscode.commands.executeCommand<any>('p4jit.runFunction', uri, 'version', []);
    assert.equal(first?.returnValue, 1);
    const key = api.device.loadedFunctions().find((f) => f.name === 'version')!.key;
    const oldBuild = api.device.loadedFunctions().find((f) => f.key === key)!.buildKey;

    const reloaded = nextReload();
    await editAndSave(doc, 'return 1;', 'return 2;');
    const outcome = await reloaded;
    assert.equal(outcome.ok, true, outcome.error);
    assert.notEqual(outcome.loaded?.buildKey, oldBuild);

    // p4jit.exec calls what is loaded, without building: the reload already put the new code there.
    const second = await vscode.commands.executeCommand<any>('p4jit.exec', key, []);
    assert.equal(second?.returnValue, 2);
  });

  test('an error on save lands in Problems through the task\'s problem matcher; the old code stays loaded', async () => {
    const api = await p4jit();
    const doc = await vscode.workspace.openTextDocument(uri);
    const key = api.device.loadedFunctions().find((f) => f.name === 'version')!.key;

    const failed = nextReload();
    await editAndSave(doc, 'return 2;', 'return not_declared;');
    assert.equal((await failed).ok, false);
    const problems = await until(() => {
      const d = diagnosticsOf(uri).filter((x) => x.source === 'gcc');
      return d.length ? d : undefined;
    }, 'the problem matcher\'s diagnostic', 30_000).catch((e: Error) => {
      const all = vscode.languages.getDiagnostics().map(([u, d]) => [u.fsPath, d.map((x) => [x.source, x.message])]);
      throw new Error(`${e.message}; diagnostics: ${JSON.stringify(all)}`);
    });
    assert.equal(problems[0].range.start.line, 2);
    assert.match(problems[0].message, /not_declared/);

    const still = await vscode.commands.executeCommand<any>('p4jit.exec', key, []);
    assert.equal(still?.returnValue, 2, 'the last good code still runs');

    const fixed = nextReload();
    await editAndSave(doc, 'return not_declared;', 'return 3;');
    assert.equal((await fixed).ok, true);
    await until(() => !diagnosticsOf(uri).some((x) => x.source === 'gcc'), 'the fixed error to leave the Problems view', 30_000);
    const third = await vscode.commands.executeCommand<any>('p4jit.exec', key, []);
    assert.equal(third?.returnValue, 3);
  });
});
