import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import { answerPrompts, diagnosticsOf, nextCall, openAt, p4jit, Scratch, ui, until, workspaceUri } from './helpers.js';

suite('Run on ESP32-P4', () => {
  test('is in the editor context menu of C and C++ files only', async () => {
    const ext = vscode.extensions.getExtension('p4-jit.p4-jit')!;
    const items = ext.packageJSON.contributes.menus['editor/context'] as { command: string; when: string }[];
    const run = items.find((i) => i.command === 'p4jit.runFunction');
    assert.ok(run, 'the context menu has Run on ESP32-P4');
    assert.equal(run.when, 'editorLangId == c || editorLangId == cpp');
  });

  test('runs the function at the cursor, asking each argument and refusing an invalid one', async function () {
    if (!ui.uiDriverAvailable()) this.skip();
    const api = await p4jit();
    await openAt('src/basics.c', 'return a + b;');
    const previous = api.device.history()[0];
    await ui.palette('P4-JIT: Run on ESP32-P4');

    // "x" is not an int: the box stays open on the first argument.
    await ui.waitFor(() => api.runner.prompting?.index === 0, 'the prompt for a');
    assert.equal(api.runner.prompting?.param, 'a');
    await ui.typeText('x');
    await ui.pressKeys('Enter');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(api.runner.prompting?.index, 0, 'an invalid value is not accepted');

    await answerPrompts(api, ['2', '40']);
    const call = await nextCall(api, 'add', previous);
    assert.equal(call.fault, null);
    assert.equal(call.returnValue, 42);
    assert.deepEqual(call.args.map((a) => a.display), ['2', '40']);
    assert.ok(call.count !== null && call.count > 0n, 'the device counted');
  });

  test('asks where to run first, in a pick that waits; a compile error comes before any argument prompt', async function () {
    if (!ui.uiDriverAvailable()) this.skip();
    const api = await p4jit();
    const config = () => vscode.workspace.getConfiguration('p4jit');
    const scratch = new Scratch('run');
    // No board and no choice yet: what a new user meets on the first run.
    await config().update('port', 'auto', vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('p4jit.stopEmulator');
    try {
      const uri = scratch.write('twice.c', 'int twice(int x)\n{\n    return x * no_such_factor;\n}\n');
      await openAt('scratch/run/twice.c', 'return');
      const prompts = api.runner.prompts;
      await ui.palette('P4-JIT: Run on ESP32-P4');
      const items = await until(async () => {
        const labels = await ui.quickPickItems();
        return labels.includes('Emulated ESP32-P4') ? labels : undefined;
      }, 'the pick of where to run', 30_000);
      assert.ok(items.includes('Always Use the Emulator'), 'it offers to stop asking');
      assert.equal(api.runner.prompts, prompts, 'no argument was asked before');
      await ui.pickQuickItem('Emulated ESP32-P4');
      const error = await until(() => diagnosticsOf(uri).find((d) => d.severity === vscode.DiagnosticSeverity.Error), 'the compile error', 120_000);
      assert.equal(error.range.start.line, 2, 'on its line');
      assert.equal(api.runner.prompts, prompts, 'no argument was asked for code that does not compile');

      // The answer stands for the window: a run of the mended code asks nothing but its argument.
      scratch.write('twice.c', 'int twice(int x)\n{\n    return x * 2;\n}\n');
      const mended = await vscode.commands.executeCommand<any>('p4jit.runFunction', uri, 'twice', ['21']);
      assert.equal(mended?.returnValue, 42);

      // "Always Use the Emulator" stores the choice in the workspace settings.
      await vscode.commands.executeCommand('p4jit.stopEmulator');
      const running = vscode.commands.executeCommand<any>('p4jit.runFunction', uri, 'twice', ['5']);
      await ui.pickQuickItem('Always Use the Emulator');
      assert.equal((await running)?.returnValue, 10);
      assert.equal(config().get('port'), 'emulator');
    } finally {
      await config().update('port', 'emulator', vscode.ConfigurationTarget.Workspace);
      await scratch.cleanup();
    }
  });

  test('a run from the palette shows its result where the eye is: panel revealed once, lens, notification', async function () {
    if (!ui.uiDriverAvailable()) this.skip();
    const api = await p4jit();
    const uri = workspaceUri('src/basics.c');
    await vscode.commands.executeCommand('p4jit.disconnect'); // the next run starts a new working session
    // What a user sees: the side bar showing the ESP32-P4 view, or no side bar.
    const panelShown = async () => (await ui.texts('.part.sidebar .title-label')).some((t) => /ESP32-P4/i.test(t));
    await vscode.commands.executeCommand('workbench.action.closeSidebar');
    await until(async () => !(await panelShown()), 'the side bar to close');
    await openAt('src/basics.c', 'return a + b;');
    const previous = api.device.history()[0];
    await ui.palette('P4-JIT: Run on ESP32-P4');
    await answerPrompts(api, ['30', '2']);
    await nextCall(api, 'add', previous);

    await until(panelShown, 'the panel to be revealed', 30_000);
    await until(async () => (await ui.texts('.notifications-toasts .notification-toast')).some((t) => /add\(30, 2\) → 32\b/.test(t)),
      'a notification with the result', 30_000);
    await until(async () => (await ui.webviewTexts('li.call')).some((t) => /add\(30, 2\)/.test(t) && /returned 32\b/.test(t)),
      'the call in the panel', 30_000);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 10);
    assert.ok(lenses.some((l) => /^returned 32\b/.test(l.command?.title ?? '')), 'the result stays above the function');

    // The user closes the side bar: later runs leave it closed.
    await vscode.commands.executeCommand('workbench.action.closeSidebar');
    await until(async () => !(await panelShown()), 'the side bar to close');
    const again = await vscode.commands.executeCommand<any>('p4jit.runFunction', uri, 'add', ['1', '2']);
    assert.equal(again?.returnValue, 3);
    assert.equal(await panelShown(), false, 'a later run does not take the side bar back');
  });

  test('Rerun Last runs again with the same arguments without asking', async () => {
    const api = await p4jit();
    const first = await vscode.commands.executeCommand<any>('p4jit.runFunction', workspaceUri('src/basics.c'), 'add', ['20', '22']);
    assert.equal(first?.returnValue, 42);
    const prompts = api.runner.prompts;
    const r = await vscode.commands.executeCommand<any>('p4jit.rerunLast');
    assert.ok(r, 'a result');
    assert.notEqual(r, first, 'a new call');
    assert.equal(r.function, 'add');
    assert.deepEqual(r.args.map((a: { display: string }) => a.display), ['20', '22']);
    assert.equal(r.returnValue, 42);
    assert.equal(api.runner.prompts, prompts, 'nothing was asked');
  });

  test('remembers the arguments per function: Enter accepts them', async function () {
    if (!ui.uiDriverAvailable()) this.skip();
    const api = await p4jit();
    await vscode.commands.executeCommand('p4jit.runFunction', workspaceUri('src/basics.c'), 'add', ['3', '4']);
    const previous = api.device.history()[0];
    const running = vscode.commands.executeCommand('p4jit.runFunction', workspaceUri('src/basics.c'), 'add');
    for (const index of [0, 1]) {
      await ui.waitFor(() => api.runner.prompting?.index === index, `the prompt for argument ${index}`);
      await ui.pressKeys('Enter');
    }
    await running;
    const call = await nextCall(api, 'add', previous);
    assert.deepEqual(call.args.map((a) => a.display), ['3', '4']);
    assert.equal(call.returnValue, 7);
  });

  test('copies arrays back and returns floats', async () => {
    const r = await vscode.commands.executeCommand<any>('p4jit.runFunction', workspaceUri('src/basics.c'), 'scale', ['[1, 2, 3]', '3', '2']);
    assert.ok(r, 'a result');
    assert.equal(r.fault, null);
    assert.equal(r.returnValue, 12);
    assert.deepEqual(r.arrays.x, [2, 4, 6]);
  });

  test('captures what the function printed', async () => {
    const r = await vscode.commands.executeCommand<any>('p4jit.runFunction', workspaceUri('src/basics.c'), 'shout', ['2']);
    assert.ok(r, 'a result');
    assert.equal(r.returnValue, 2);
    assert.equal(r.output, 'hello 0\nhello 1\n');
  });
});
