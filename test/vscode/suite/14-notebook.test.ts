import * as assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';

import { EXTENSION_ID, p4jit, ui, until, workspaceRoot } from './helpers.js';

const PLOT_MIME = 'application/vnd.p4jit.plot+json';

const outputText = (cell: vscode.NotebookCell, mime?: string) => cell.outputs
  .flatMap((o) => o.items)
  .filter((i) => !mime || i.mime === mime)
  .map((i) => new TextDecoder().decode(i.data))
  .join('\n');

/** Runs every cell of `nb` on the P4-JIT kernel, as Run All does, and waits until each has ended. */
async function runAll(nb: vscode.NotebookDocument, timeoutMs = 300_000): Promise<vscode.NotebookCell[]> {
  await vscode.window.showNotebookDocument(nb);
  await vscode.commands.executeCommand('notebook.selectKernel', { id: 'p4jit-notebook', extension: EXTENSION_ID });
  const code = nb.getCells().filter((c) => c.kind === vscode.NotebookCellKind.Code);
  const started = Date.now();
  await vscode.commands.executeCommand('notebook.execute');
  // each cell ends (run, failed, or skipped after a failure) with an end time from this run
  await until(() => code.every((c) => (c.executionSummary?.timing?.endTime ?? 0) >= started), 'every cell to run', timeoutMs);
  return code;
}

suite('notebooks', () => {
  const dir = join(workspaceRoot(), 'scratch', 'notebook');
  suiteSetup(() => {
    // the tutorial as a user copies it into a project: the notebook and its data folder
    const examples = join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'examples', 'notebooks');
    mkdirSync(join(dir, 'data'), { recursive: true });
    for (const nb of ['audio-dsp.ipynb', 'inference.ipynb']) copyFileSync(join(examples, nb), join(dir, nb));
    copyFileSync(join(examples, 'data', 'tone-with-hum.wav'), join(dir, 'data', 'tone-with-hum.wav'));
  });
  // a notebook left open (a failed test) keeps its webview: the next test's plots must not share the view
  teardown(() => vscode.commands.executeCommand('workbench.action.closeAllEditors'));
  suiteTeardown(async () => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('the audio DSP tutorial runs on the ESP32-P4 (P4-JIT) kernel: every cell succeeds and its plots render', async () => {
    const api = await p4jit();
    const nb = await vscode.workspace.openNotebookDocument(vscode.Uri.file(join(dir, 'audio-dsp.ipynb')));
    const code = await runAll(nb);
    for (const cell of code) assert.equal(cell.executionSummary?.success, true, `cell ${cell.index + 1}: ${outputText(cell)}`);

    const assembly = code.find((cell) => cell.document.languageId === 'riscv-asm');
    assert.ok(assembly, 'the gain loop is an assembly cell (RISC-V Assembly)');
    assert.match(outputText(assembly, 'application/vnd.code.notebook.stdout'), /^Assembled gain_asm \(\d+ bytes\): C cells run after this one are linked with it/);
    const c = code.find((cell) => cell.document.languageId === 'c')!;
    assert.match(outputText(c, 'text/markdown'), /`void fir\(const float \*x, float \*y, int n, const float \*h, int taps\)` \| `0x[0-9a-f]+` \| \d+ bytes \|/);
    assert.ok(['fir', 'gain'].every((n) => api.device.loadedFunctions().some((f) => f.name === n)), 'the panel lists the notebook\'s functions (one device, one session)');
    assert.ok(code.some((cell) => /all 4800 samples equal the host's float32 filter/.test(outputText(cell, 'application/vnd.code.notebook.stdout'))));
    const plots = code.flatMap((cell) => cell.outputs.filter((o) => o.items.some((i) => i.mime === PLOT_MIME)));
    assert.equal(plots.length, 4, 'four plots');

    const editor = await vscode.commands.executeCommand<vscode.TextEditor>('p4jit.showDisassemblyOf', 'fir');
    assert.match(editor.document.getText(), /^fir: +# 0x[0-9a-f]+$/m);
    await vscode.window.showNotebookDocument(nb);

    if (!ui.uiDriverAvailable()) return;
    // the renderer draws them in the notebook's webview (captions are the plots' titles)
    const overlay = code.findIndex((cell) => outputText(cell, 'text/plain').includes('FIR low-pass at 2 kHz: before and after'));
    const editorOf = vscode.window.activeNotebookEditor!;
    const range = new vscode.NotebookRange(code[overlay].index, code[overlay].index + 1);
    // its code folded away, as a reader of the results would: the printed lines and the plot show
    editorOf.selections = [range];
    await vscode.commands.executeCommand('notebook.cell.collapseCellInput');
    editorOf.revealRange(range, vscode.NotebookEditorRevealType.AtTop);
    const captions = await until(async () => {
      const texts = await ui.frameTexts('.p4jit-plot figcaption');
      return texts.includes('FIR low-pass at 2 kHz: before and after') ? texts : undefined;
    }, 'the overlay plot drawn in the notebook', 60_000);
    assert.ok(captions.length >= 1);
    // under the C cell's code, its status bar offers the disassembly of the functions it loaded: the
    // code's last line in the middle of the view puts the status bar in sight, however tall the
    // cells around it have grown
    editorOf.revealRange(new vscode.NotebookRange(c.index, c.index + 1), vscode.NotebookEditorRevealType.InCenter);
    const cellEditor = await until(() => vscode.window.visibleTextEditors.find((e) => e.document === c.document), 'the C cell\'s editor');
    const last = c.document.lineCount - 1;
    cellEditor.revealRange(new vscode.Range(last, 0, last, 0), vscode.TextEditorRevealType.InCenter);
    // the cell's status bar is drawn again when its items update, and a click landing on the old
    // item is lost: as a user would, click again until the picker of the cell's functions shows
    for (let attempt = 1; ; attempt++) {
      await ui.click('.cell-statusbar-container .cell-status-item:has-text("Disassembly")');
      const listed = until(async () => (await ui.quickPickItems()).includes('gain'), 'the picker of the C cell\'s functions', 5_000);
      if (attempt === 3 || await listed.then(() => true, () => false)) {
        await listed; // the third miss fails the test with until's message
        break;
      }
    }
    await ui.pickQuickItem('gain');
    await until(() => vscode.window.activeTextEditor?.document.uri.scheme === 'p4jit-disasm' && /^gain:/m.test(vscode.window.activeTextEditor.document.getText()), 'the disassembly of gain opened from the notebook', 20_000);
    (await vscode.window.showNotebookDocument(nb)).revealRange(range, vscode.NotebookEditorRevealType.AtTop);
    await until(async () => (await ui.frameTexts('.p4jit-plot figcaption')).includes('FIR low-pass at 2 kHz: before and after'), 'the plot shown again', 30_000);
    // README's picture of a notebook plot: this real run on the emulated ESP32-P4
    await ui.screenshotEditor('notebook-plot');
  });

  test('the inference tutorial runs: float32 and int8 on the device equal the host, the labelled image grid renders', async () => {
    const nb = await vscode.workspace.openNotebookDocument(vscode.Uri.file(join(dir, 'inference.ipynb')));
    const code = await runAll(nb);
    for (const cell of code) assert.equal(cell.executionSummary?.success, true, `cell ${cell.index + 1}: ${outputText(cell)}`);
    const printed = code.map((cell) => outputText(cell, 'application/vnd.code.notebook.stdout')).join('');
    assert.match(printed, /int8 on the device \(shift \d+\): accuracy [\d.]+ %, every logit of all 1,000 images equals the host's/);
    if (!ui.uiDriverAvailable()) return;
    const last = code.at(-1)!;
    const editorOf = vscode.window.activeNotebookEditor!;
    editorOf.selections = [new vscode.NotebookRange(last.index, last.index + 1)];
    await vscode.commands.executeCommand('notebook.cell.collapseCellInput');
    editorOf.revealRange(editorOf.selections[0], vscode.NotebookEditorRevealType.AtTop);
    await until(async () => (await ui.frameTexts('.p4jit-plot figcaption')).some((t) => t.startsWith('Int8 predictions on the device')), 'the image grid drawn', 60_000);
    await ui.screenshotEditor('notebook-images');
  });

  test('a C cell that does not compile shows GCC\'s error on its own line; fixed, it loads', async () => {
    const nb = await vscode.workspace.openNotebookDocument('jupyter-notebook', new vscode.NotebookData([
      new vscode.NotebookCellData(vscode.NotebookCellKind.Code, 'int half(int a)\n{\n    return a /;\n}', 'c'),
      new vscode.NotebookCellData(vscode.NotebookCellKind.Code, 'await half(84)', 'javascript'),
    ]));
    let [c] = await runAll(nb);
    assert.equal(c.executionSummary?.success, false);
    assert.match(outputText(c), /the cell does not compile:[\s\S]*cell:3:\d+: error: expected expression/);

    const edit = new vscode.WorkspaceEdit();
    edit.replace(c.document.uri, new vscode.Range(2, 0, 2, 100), '    return a / 2;');
    await vscode.workspace.applyEdit(edit);
    [c] = await runAll(nb);
    const call = nb.cellAt(1);
    assert.equal(c.executionSummary?.success, true, outputText(c));
    assert.match(outputText(call), /returned 42\b/);
  });
});
