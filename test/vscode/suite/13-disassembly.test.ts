import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import type { LoadedFunction } from '../../../extension/session/types.js';
import { p4jit, Scratch, ui, until } from './helpers.js';

const SOURCE = `/* a helper GCC would inline, and the function that is run */
static float square(float v)
{
    return v * v;
}

float energy(const float *x, int n)
{
    float e = 0.0f;
    for (int i = 0; i < n; i++) {
        e += square(x[i]);
    }
    return e;
}
`;

suite('disassembly', () => {
  const scratch = new Scratch();
  suiteTeardown(() => scratch.cleanup());

  test('opens as RISC-V assembly: the function first with its source lines by relative path, the wrapper last and folded', async function () {
    if (!ui.uiDriverAvailable()) this.skip();
    await p4jit(); // the extension is active
    const uri = scratch.write('energy.c', SOURCE);
    const fn = await vscode.commands.executeCommand<LoadedFunction>('p4jit.upload', uri, 'energy');
    assert.ok(fn, 'energy is loaded');

    await ui.palette('P4-JIT: Show Disassembly of Loaded Function…');
    await ui.pickQuickItem('energy');
    const editor = await until(() => {
      const e = vscode.window.activeTextEditor;
      return e?.document.uri.scheme === 'p4jit-disasm' && e.document.uri.query === fn.key ? e : undefined;
    }, 'the disassembly editor', 30_000);
    assert.equal(editor.document.languageId, 'riscv-asm', 'a language that highlights RISC-V assembly');

    const lines = editor.document.getText().split('\n');
    assert.match(lines[0], /^# energy loaded at 0x[0-9a-f]{8}: RISC-V machine code with its source lines/);
    assert.match(lines[2], /^energy: +# 0x[0-9a-f]{8}$/, 'the user\'s function comes first');
    assert.match(lines[3], /^# scratch\/energy\.c:\d+ /, 'its source lines, by path relative to the workspace');
    const region = lines.findIndex((l) => l.startsWith('# region'));
    const entry = lines.findIndex((l) => l.startsWith('__p4jit_entry:'));
    assert.ok(region > 3 && entry > region, 'the generated entry comes last, inside a region');
    const userPart = lines.slice(0, region).join('\n');
    assert.match(userPart, /# scratch\/energy\.c:\d+ +e \+= square\(x\[i\]\);/);
    assert.match(userPart, /^ {4}[0-9a-f]{8}: +fmadd\.s /m, 'the inlined helper\'s multiply-add, in the function');
    assert.doesNotMatch(userPart, /__p4jit_entry|p4jit_entry\.c|workspaceStorage|\/tmp\//, 'nothing generated, no build paths');

    // the wrapper is folded: its lines are not on screen
    await until(() => !editor.visibleRanges.some((r) => r.start.line <= entry && entry <= r.end.line), 'the wrapper folded', 10_000);
    await ui.screenshot('disassembly');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
