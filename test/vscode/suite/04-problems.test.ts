import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import { diagnosticsOf, p4jit, Scratch, until } from './helpers.js';

const BROKEN = `int broken(void)
{
    return missing_name;
}
`;

suite('compile errors', () => {
  const scratch = new Scratch('problems');
  suiteTeardown(() => scratch.cleanup());

  test('a compile error of a run lands in the Problems view on its line', async () => {
    await p4jit();
    const uri = scratch.write('broken.c', BROKEN);
    const r = await vscode.commands.executeCommand('p4jit.runFunction', uri, 'broken', []);
    assert.equal(r, undefined, 'nothing ran');
    const errors = await until(() => {
      const d = diagnosticsOf(uri).filter((x) => x.severity === vscode.DiagnosticSeverity.Error);
      return d.length ? d : undefined;
    }, 'a diagnostic on broken.c');
    assert.equal(errors[0].range.start.line, 2);
    assert.match(errors[0].message, /missing_name/);
  });

  test('fixing the error and running again clears it', async () => {
    const uri = scratch.write('broken.c', BROKEN.replace('missing_name', '7'));
    const r = await vscode.commands.executeCommand<any>('p4jit.runFunction', uri, 'broken', []);
    assert.equal(r?.returnValue, 7);
    assert.deepEqual(diagnosticsOf(uri), []);
  });
});
