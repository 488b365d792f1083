import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as vscode from 'vscode';

import type { ReloadOutcome } from '../../../extension/vscode/load-task.js';
import { Prng } from '../../helpers/fault-link.js';
import { diagnosticsOf, p4jit, saveDocument, Scratch, until } from './helpers.js';

suite('compile on save (hot reload)', () => {
  const scratch = new Scratch('reload');
  let uri: vscode.Uri;
  suiteTeardown(() => scratch.cleanup());

  /** Replaces `from` by `to` in the open document and saves it, as a user would. */
  async function editAndSave(doc: vscode.TextDocument, from: string, to: string): Promise<void> {
    const at = doc.getText().indexOf(from);
    assert.ok(at >= 0, `${from} is in the file`);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(doc.positionAt(at), doc.positionAt(at + from.length)), to);
    assert.ok(await vscode.workspace.applyEdit(edit));
    await saveDocument(doc);
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
    assert.equal(outcome.ok, true, JSON.stringify(outcome.failed));
    assert.equal(outcome.loaded.length, 1);
    assert.notEqual(outcome.loaded[0].buildKey, oldBuild);

    // p4jit.exec calls what is loaded, without building: the reload already put the new code there.
    const second = await vscode.commands.executeCommand<any>('p4jit.exec', key, []);
    assert.equal(second?.returnValue, 2);
  });

  test('an error on save lands in Problems once, on its line; the old code stays loaded but is not called', async () => {
    const api = await p4jit();
    const doc = await vscode.workspace.openTextDocument(uri);
    const loaded = api.device.loadedFunctions().find((f) => f.name === 'version')!;

    const failed = nextReload();
    await editAndSave(doc, 'return 2;', 'return not_declared;');
    const outcome = await failed;
    assert.equal(outcome.ok, false);
    assert.match(outcome.failed[0]?.error ?? '', /not_declared/);
    const problems = await until(() => {
      const d = diagnosticsOf(uri);
      return d.length ? d : undefined;
    }, 'the compile error in Problems', 30_000);
    assert.equal(problems.length, 1, `one diagnostic: ${JSON.stringify(problems.map((p) => [p.source, p.message]))}`);
    assert.equal(problems[0].range.start.line, 2);
    assert.match(problems[0].message, /not_declared/);
    assert.equal(api.device.loadedFunctions().find((f) => f.key === loaded.key)?.buildKey, loaded.buildKey, 'the working code stays loaded');

    // the loaded code no longer is what the file says: the call is refused (and nothing runs)
    const before = api.device.history()[0];
    const refused = await vscode.commands.executeCommand<any>('p4jit.exec', loaded.key, []);
    assert.equal(refused, undefined);
    assert.equal(api.device.history()[0], before, 'the old code was not called');
    assert.equal(diagnosticsOf(uri).length, 1, 'the refused call does not add the error to Problems again');

    const fixed = nextReload();
    await editAndSave(doc, 'return not_declared;', 'return 3;');
    assert.equal((await fixed).ok, true);
    await until(() => diagnosticsOf(uri).length === 0, 'the fixed error to leave the Problems view', 30_000);
    const third = await vscode.commands.executeCommand<any>('p4jit.exec', loaded.key, []);
    assert.equal(third?.returnValue, 3);
  });
});

suite('hot reload under repeated saves', () => {
  const scratch = new Scratch('reload-50');
  suiteTeardown(() => scratch.cleanup());
  const NAMES = ['f0', 'f1', 'f2', 'f3', 'f4'];
  const SAVES = 50;
  const SEED = Number(process.env.P4JIT_RELOAD_SEED ?? 0x13);

  /** Version `v` of the file: f<k> returns k*1000+v; `broken` puts an error into one function. */
  const source = (v: number, broken?: number) => NAMES.map((name, k) => `int ${name}(void)\n{\n    return ${k * 1000} + ${v}${k === broken ? ' + missing_' + v : ''};\n}\n`).join('\n');

  async function saveAs(doc: vscode.TextDocument, text: string): Promise<void> {
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), text);
    assert.ok(await vscode.workspace.applyEdit(edit));
    await saveDocument(doc);
  }

  test('50 saves of errors and fixes: every function always runs the code on disk, or is refused', async function () {
    this.timeout(1_500_000);
    const api = await p4jit();
    const rng = new Prng(SEED);
    const uri = scratch.write('five.c', source(0));
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
    for (const name of NAMES) {
      const r = await vscode.commands.executeCommand<any>('p4jit.runFunction', uri, name, []);
      assert.equal(r?.returnValue, NAMES.indexOf(name) * 1000, `${name} loads`);
    }
    const keys = NAMES.map((name) => api.device.loadedFunctions().find((f) => f.name === name)!.key);

    let taskRuns = 0;
    const started = vscode.tasks.onDidStartTask((e) => {
      if (e.execution.task.definition.type === 'p4jit') taskRuns++;
    });
    // (any: the outcome's shape is checked below, field by field)
    const outcomes: any[] = [];
    const reloads = api.onDidReload((o) => outcomes.push(o));
    try {
      let version = 0;
      for (let save = 1; save <= SAVES; save++) {
        const broken = save % 2 === 1 ? rng.below(NAMES.length) : undefined;
        if (broken === undefined) version = save;
        await saveAs(doc, source(version, broken));
        // Now and then the next save comes during this one's reload.
        if (save < SAVES && rng.next() < 0.3) {
          await new Promise((r) => setTimeout(r, rng.below(300)));
          continue;
        }
        await new Promise((r) => setTimeout(r, rng.below(800)));
        for (const k of rng.next() < 0.5 ? [0, 1, 2, 3, 4] : [4, 3, 2, 1, 0]) {
          const before = api.device.history()[0];
          const r = await vscode.commands.executeCommand<any>('p4jit.exec', keys[k], []);
          if (broken === undefined) {
            assert.equal(r?.returnValue, k * 1000 + version, `save ${save}: ${NAMES[k]} runs version ${version}`);
          } else {
            if (r !== undefined) {
              // what the session believed, for the report: its hash of the sources against the disk's
              const fn = api.device.current?.loaded().find((f) => f.key === keys[k]);
              const disk = readFileSync(uri.fsPath, 'utf8');
              assert.fail(`save ${save}: ${NAMES[k]} is not called while the file does not compile (got ${r?.returnValue}); ` +
                `session hash ${fn?.sourceHash.slice(0, 12)} vs disk ${api.device.current?.sourceHash(uri.fsPath).slice(0, 12)}, ` +
                `build ${fn?.buildKey}, disk ${disk === doc.getText() ? 'matches' : 'differs from'} the editor, ` +
                `disk has missing_: ${disk.includes('missing_')}; last outcomes ${JSON.stringify(outcomes.slice(-2))}`);
            }
            assert.equal(api.device.history()[0], before, `save ${save}: no call of ${NAMES[k]} happened`);
          }
        }
      }

      // The last save (a fix) is reloaded for every function without any call asking for it.
      const last = await until(() => outcomes.find((o) => o.file === uri.fsPath && !o.superseded && o.loaded.length === NAMES.length && o.ok
        && NAMES.every((n, k) => api.device.current?.loaded().find((f) => f.key === keys[k])?.buildKey === o.loaded.find((l: any) => l.name === n)?.buildKey)),
      'the last save\'s reload of all five functions', 120_000).catch(() => undefined);
      await until(() => !vscode.tasks.taskExecutions.some((t) => t.task.definition.type === 'p4jit'), 'every P4-JIT task to end', 120_000);
      const session = api.device.current!;
      for (const [k, key] of keys.entries()) {
        // the session's own call (no rebuild) proves the reload put the new code there
        const r = await api.device.exclusive(() => session.call(key, []));
        assert.equal(r.returnValue, k * 1000 + version, `${NAMES[k]} was reloaded to version ${version}`);
      }
      assert.ok(last, `the last save reloaded all five functions (outcomes: ${JSON.stringify(outcomes.slice(-3).map((o) => ({ ok: o.ok, superseded: o.superseded, failed: o.failed })))})`);
      assert.ok(taskRuns <= SAVES, `at most one task run per save (${taskRuns} for ${SAVES} saves)`);
      assert.ok(taskRuns > 0, 'saves ran the load task');
    } finally {
      started.dispose();
      reloads.dispose();
    }
  });
});
