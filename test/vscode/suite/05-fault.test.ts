import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import { diagnosticsOf, lineOf, p4jit, workspaceUri } from './helpers.js';

suite('faults', () => {
  test('a fault is reported at its source line, in the result and as a diagnostic', async () => {
    const api = await p4jit();
    const uri = workspaceUri('src/faults.c');
    const line = lineOf('src/faults.c', 'FAULT LINE');
    const r = await vscode.commands.executeCommand<any>('p4jit.runFunction', uri, 'read_unmapped', ['0']);
    assert.ok(r, 'a result');
    assert.equal(r.returnValue, null);
    assert.equal(r.fault?.kind, 'fault');
    assert.equal(r.fault.line, line);
    assert.match(r.fault.message, /load access fault at address 0x00000010/);

    const d = diagnosticsOf(uri).find((x) => x.source === 'P4-JIT');
    assert.ok(d, 'a P4-JIT diagnostic on faults.c');
    assert.equal(d.range.start.line, line - 1);
    assert.equal(d.severity, vscode.DiagnosticSeverity.Error);
    assert.match(d.message, /read_unmapped: load access fault/);

    // The device survived: the next call works.
    const ok = await vscode.commands.executeCommand<any>('p4jit.runFunction', workspaceUri('src/basics.c'), 'answer', []);
    assert.equal(ok?.returnValue, 42);
    assert.equal(api.device.state, 'connected');
  });

  test('a call stopped by its time limit is reported inside the loop of the user\'s file, never in generated code', async function () {
    this.timeout(240_000);
    const uri = workspaceUri('src/runaway.c');
    const config = vscode.workspace.getConfiguration('p4jit');
    await config.update('callTimeoutMs', 300, vscode.ConfigurationTarget.Workspace);
    try {
      const r = await vscode.commands.executeCommand<any>('p4jit.runFunction', uri, 'spin', ['1']);
      assert.equal(r?.fault?.kind, 'timeout', JSON.stringify(r?.fault));
      const [start, end] = [lineOf('src/runaway.c', 'LOOP START'), lineOf('src/runaway.c', 'LOOP END')];
      assert.ok(r.fault.file?.endsWith('runaway.c'), `the user's file, not the wrapper: ${r.fault.file}`);
      assert.ok(r.fault.line >= start && r.fault.line <= end, `line ${r.fault.line} is in the loop (${start}-${end})`);
      assert.doesNotMatch(r.fault.message, /p4jit_entry/);
      const d = diagnosticsOf(uri).find((x) => x.source === 'P4-JIT');
      assert.ok(d, 'a P4-JIT diagnostic on runaway.c');
      assert.equal(d.range.start.line, r.fault.line - 1);
      assert.ok(!vscode.languages.getDiagnostics().some(([u, ds]) => u.path.endsWith('p4jit_entry.c') && ds.length), 'no diagnostic on generated code');
    } finally {
      await config.update('callTimeoutMs', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});
