// Runs against the extension installed from the packaged .vsix (not the development folder):
// the bundle, its WebAssembly parser, the serial binding and the firmware sources must all be in it.
import * as assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';

import type { P4JitApi } from '../../../../extension/vscode/extension.js';

suite('the packaged extension', () => {
  test('is the installed .vsix, and runs a function on the emulated ESP32-P4', async () => {
    const ext = vscode.extensions.getExtension<P4JitApi>('p4-jit.p4-jit');
    assert.ok(ext, 'p4-jit.p4-jit is installed');
    const installedFrom = process.env.P4JIT_VSIX_EXTENSIONS_DIR;
    assert.ok(installedFrom && ext.extensionPath.startsWith(installedFrom), `loaded from ${ext.extensionPath}, the extensions folder`);
    assert.ok(!existsSync(join(ext.extensionPath, 'node_modules')), 'the package carries no node_modules tree');
    assert.ok(existsSync(join(ext.extensionPath, 'firmware', 'emulator', 'Makefile')), 'the firmware sources are in the package');

    // No board here: use the emulator without asking (a user picks it in the notification).
    await vscode.workspace.getConfiguration('p4jit').update('port', 'emulator', vscode.ConfigurationTarget.Workspace);
    const t0 = performance.now();
    const api = await ext.activate().then(undefined, (e: Error) => { throw new Error(`activation failed: ${e.stack}`); });
    const loadAndActivateMs = performance.now() - t0;
    const folder = vscode.workspace.workspaceFolders![0].uri.fsPath;
    mkdirSync(join(folder, 'vsix'), { recursive: true });
    const file = join(folder, 'vsix', 'mul.c');
    writeFileSync(file, 'int mul(int a, int b)\n{\n    return a * b;\n}\n');
    const uri = vscode.Uri.file(file);

    await vscode.window.showTextDocument(uri);
    console.log(`[vsix check] bundle loaded and activated in ${loadAndActivateMs.toFixed(0)} ms (activate() itself ${api.activationMs.toFixed(1)} ms)`);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri);
    const lens = lenses.find((l) => l.command?.arguments?.[1] === 'mul');
    assert.ok(lens?.command, 'the C parser in the package found mul()');
    console.log('[vsix check] running mul through its CodeLens');

    const r = await vscode.commands.executeCommand<any>(lens.command.command, ...lens.command.arguments!, ['6', '7']);
    assert.ok(r, `a result (device: ${api.device.state}, ${api.device.lastError ?? 'no error'})`);
    assert.equal(r.returnValue, 42);
    assert.equal(api.statusText(), '$(vm) Emulated ESP32-P4');
    assert.ok(existsSync(join(ext.extensionPath, 'build', 'firmware', 'p4jit-emu.elf')), 'the emulator image was built from the packaged sources');
    // the compiler and linker are started from the package's tool runner, not from this host
    const runner = join(ext.extensionPath, 'dist', 'tool-runner.cjs');
    const children = childCommandLines(process.pid);
    assert.ok(children.some((c) => c.includes(runner)), `a child of the extension host runs ${runner} (children: ${children.join('; ')})`);
  });
});

/** The command lines of `pid`'s children (the check's carrier holds no test helpers). */
function childCommandLines(pid: number): string[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) return [];
      return [readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').trim()];
    } catch {
      return []; // gone meanwhile
    }
  });
}
