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
});
