import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';

import type { CallResult } from '../../../extension/session/types.js';
import type { PanelState } from '../../../webview/messages.js';
import { answerPrompts, nextCall, openAt, p4jit, Scratch, ui, until, workspaceRoot } from './helpers.js';

const SOURCE = `/* copies x scaled by k into y; returns the sum */
float gain(const float *x, int n, float k, float *y)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++) {
        y[i] = x[i] * k;
        s += y[i];
    }
    return s;
}
`;

const panelState = () => vscode.commands.executeCommand<PanelState | null>('p4jit._test.panelState');

async function lensTitles(uri: vscode.Uri): Promise<string[]> {
  const lenses = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri)) ?? [];
  return lenses.map((l) => l.command?.title ?? '');
}

/** The panel's entry for a call, once the panel has been told about it. */
async function panelCall(r: CallResult) {
  const api = await p4jit();
  await vscode.commands.executeCommand('p4jit.openPanel');
  await until(() => api.panelReady(), 'the panel webview to start', 60_000);
  await vscode.commands.executeCommand('p4jit.refreshPanel');
  return until(async () => (await panelState())?.calls.find((c) => c.function === r.function && c.args.join() === r.args.map((a) => a.display).join()), 'the call in the panel');
}

suite('results: honest counts, float32, whole arrays', () => {
  const scratch = new Scratch();
  suiteTeardown(() => scratch.cleanup());

  test('identical calls report identical instruction counts, labelled instructions in the CodeLens and the panel', async () => {
    await p4jit();
    const uri = scratch.write('gain.c', SOURCE);
    const args = ['[1, 2, 3, 4, 5, 6, 7, 8]', '8', '0.5', '[0]*8'];
    const runs: CallResult[] = [];
    for (let i = 0; i < 3; i++) runs.push((await vscode.commands.executeCommand<CallResult>('p4jit.runFunction', uri, 'gain', args))!);
    assert.ok(runs.every((r) => r.fault === null && r.counter === 'instructions'), 'the emulator counts instructions by default');
    const count = runs[0].count!;
    assert.ok(count > 8n);
    assert.deepEqual(runs.map((r) => r.count), [count, count, count], 'the same count every time');

    const shown = `${count.toLocaleString('en-US')} instructions`;
    const titles = await lensTitles(uri);
    assert.ok(titles.includes(`returned 18 · ${shown}`), `the CodeLens shows the result and the count (${titles.join(' | ')})`);
    assert.ok(!titles.some((t) => /cycles/.test(t)), 'instructions are never called cycles');
    assert.deepEqual((await panelCall(runs[2])).measured, [shown]);
  });

  test('float32 values read as float32; the panel shows 64 of 1000', async function () {
    if (!ui.uiDriverAvailable()) this.skip();
    await p4jit(); // the extension is active
    const uri = scratch.write('gain.c', SOURCE);
    const x = Array.from({ length: 1000 }, (_, i) => (i === 0 ? '0.049' : String(i)));
    const r = (await vscode.commands.executeCommand<CallResult>('p4jit.runFunction', uri, 'gain', [`[${x.join(', ')}]`, '1000', '1', '[0]*1000']))!;
    assert.equal(r.fault, null);
    const entry = await panelCall(r);
    const y = entry.arrays.find((a) => a.name === 'y');
    assert.ok(y, 'the panel lists y');
    assert.equal(y.length, 1000);
    assert.match(y.values, /^\[0\.049, 1, 2, 3, .*, 63, … 936 more\]$/, 'float32 0.049 reads 0.049, not 0.04899999871850014');
    // on screen: y as a small plot (the ramp 0..999), its numbers folded under it
    assert.ok(y.plot && y.plot.y.length <= 600 && Math.max(...y.plot.y) === 999);
    const call = `li.call[data-call="${entry.id}"]`;
    await until(async () => (await ui.webviewTexts(`${call} .array-plot canvas`)).length === 1, 'the plot of y in the panel', 20_000);
    assert.deepEqual(await ui.webviewTexts(`${call} .array-plot + details > summary`), ['Numbers']);
  });

  test('the whole array saves as .csv, .json and .npy through the save dialog', async function () {
    if (!ui.uiDriverAvailable()) this.skip();
    const api = await p4jit();
    const uri = scratch.write('gain.c', SOURCE);
    const x = Array.from({ length: 1000 }, (_, i) => (i === 0 ? '0.049' : String(i)));
    const r = (await vscode.commands.executeCommand<CallResult>('p4jit.runFunction', uri, 'gain', [`[${x.join(', ')}]`, '1000', '1', '[0]*1000']))!;
    const saveAs = async (label: string, file: string) => {
      // the name offered (function_array.ext in the workspace folder), accepted as most users do
      const path = join(workspaceRoot(), file);
      rmSync(path, { force: true });
      const done = vscode.commands.executeCommand('p4jit.exportArray', r, 'y');
      await until(() => api.exporter.asking === 'action', 'the choice of copy or save');
      // as a keyboard user: type part of the choice, Enter takes the one it leaves
      await ui.typeText(label.replace(/^Save as \.(\w+).*$/, '$1'));
      await ui.pressKeys('Enter');
      await until(() => api.exporter.asking === 'file', 'the save dialog');
      // Enter once the dialog shows, as a user sees it: its title, and the folder's entries listed
      // (an Enter while code-server's file dialog is still reading the folder is dropped)
      const ext = file.slice(file.lastIndexOf('.'));
      await until(async () => (await ui.texts('.quick-input-widget .quick-input-title')).includes(`Save y as ${ext}`)
        && (await ui.texts('.quick-input-widget .quick-input-list .monaco-list-row')).includes('scratch'), 'the save dialog listing the folder', 20_000);
      await ui.pressKeys('Enter');
      await done;
      await until(() => existsSync(path) && api.exporter.last?.path === path, `${file} written`, 20_000);
      const bytes = readFileSync(path);
      rmSync(path);
      return bytes;
    };
    const csv = (await saveAs('Save as .csv', 'gain_y.csv')).toString().trim().split('\n');
    assert.equal(csv.length, 1001);
    assert.deepEqual(csv.slice(0, 3), ['y', '0.049', '1']);
    assert.equal(csv[1000], '999');
    const json = JSON.parse((await saveAs('Save as .json', 'gain_y.json')).toString());
    assert.equal(json.length, 1000);
    assert.equal(json[0], 0.049);
    const npy = await saveAs('Save as .npy (NumPy)', 'gain_y.npy');
    const headerEnd = 10 + npy.readUInt16LE(8);
    assert.match(npy.subarray(10, headerEnd).toString('latin1'), /'descr': '<f4', 'fortran_order': False, 'shape': \(1000,\)/);
    assert.equal(npy.length, headerEnd + 4000);
    assert.equal(npy.readFloatLE(headerEnd), Math.fround(0.049));
    assert.equal(npy.readFloatLE(headerEnd + 4 * 999), 999);
  });

  test('the length after an array is pre-filled with its element count; Enter accepts it', async function () {
    if (!ui.uiDriverAvailable()) this.skip();
    const api = await p4jit();
    scratch.write('gain.c', SOURCE);
    await openAt('scratch/gain.c', 'y[i] = x[i] * k;');
    const previous = api.device.history()[0];
    await ui.palette('P4-JIT: Run on ESP32-P4');
    await answerPrompts(api, ['[1.5, 2.5, 3.5, 4.5, 5.5]']);
    await until(() => api.runner.prompting?.index === 1, 'the prompt for n', 60_000);
    await ui.pressKeys('Enter'); // n: the 5 filled in
    for (const [index, value] of [[2, '2'], [3, '[0]*5']] as const) {
      await until(() => api.runner.prompting?.index === index, `the prompt for argument ${index}`, 60_000);
      await ui.pressKeys('Control+a');
      await ui.typeText(value);
      await ui.pressKeys('Enter');
    }
    const call = await nextCall(api, 'gain', previous);
    assert.equal(call.args[1].display, '5', 'n took the length of x');
    assert.equal(call.returnValue, 35);
    assert.deepEqual(call.arrays.y, [3, 5, 7, 9, 11]);
  });

  test('with p4jit.emulator.icount off, calls show wall time, never cycles', async () => {
    const api = await p4jit();
    const uri = scratch.write('gain.c', SOURCE);
    const config = vscode.workspace.getConfiguration('p4jit');
    await config.update('emulator.icount', false, vscode.ConfigurationTarget.Workspace);
    try {
      await api.device.stopEmulator();
      const r = (await vscode.commands.executeCommand<CallResult>('p4jit.runFunction', uri, 'gain', ['[1, 2]', '2', '2', '[0]*2']))!;
      assert.equal(r.returnValue, 6);
      assert.equal(r.counter, 'host-ticks');
      const titles = await lensTitles(uri);
      const lens = titles.find((t) => t.startsWith('returned 6'));
      assert.match(lens ?? '', /^returned 6 · [\d.]+ (µs|ms) wall time$/, `the lens (${titles.join(' | ')})`);
      const entry = await panelCall(r);
      assert.equal(entry.measured.length, 1);
      assert.match(entry.measured[0], /wall time$/);
    } finally {
      await config.update('emulator.icount', undefined, vscode.ConfigurationTarget.Workspace);
      await api.device.stopEmulator(); // the next test gets an emulator with the default again
    }
  });
});
