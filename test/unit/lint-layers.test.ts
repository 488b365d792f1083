/**
 * The layering is enforced by lint, not goodwill: an import going up the layers, or `vscode`
 * imported by a pure layer, is an error with both layers named; imports going down are not; and
 * the repository as it is passes. The format is lint too: code out of it fails, and --fix mends it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ESLint } from 'eslint';

import { repoRoot } from '../helpers/paths.js';

const eslint = new ESLint({ cwd: repoRoot });

async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${repoRoot}/${file}` });
  return result.messages.filter((m) => m.ruleId === 'p4jit/layers').map((m) => m.message);
}

test('an import up the layers fails, naming both layers', async () => {
  assert.match((await layerErrors('extension/protocol/new.ts', "import { DeviceClient } from '../device/client.js';\nexport const c = DeviceClient;\n"))[0] ?? '',
    /extension\/protocol may not import extension\/device/);
  assert.match((await layerErrors('toolchain/new.ts', "import { JitSession } from '../extension/session/jit-session.js';\nexport const s = JitSession;\n"))[0] ?? '',
    /toolchain may not import extension\/session/);
  assert.match((await layerErrors('extension/session/new.ts', "export { main } from '../cli/main.js';\n"))[0] ?? '',
    /extension\/session may not import extension\/cli/);
  assert.match((await layerErrors('extension/cli/new.ts', "import { Runner } from '../vscode/runner.js';\nexport const r = Runner;\n"))[0] ?? '',
    /extension\/cli may not import extension\/vscode/);
});

test("only the VS Code glue imports 'vscode'", async () => {
  assert.match((await layerErrors('extension/session/new.ts', "import * as vscode from 'vscode';\nexport const v = vscode;\n"))[0] ?? '', /only extension\/vscode may import 'vscode'/);
  assert.deepEqual(await layerErrors('extension/vscode/new.ts', "import * as vscode from 'vscode';\nexport const v = vscode;\n"), []);
});

test('imports down the layers pass', async () => {
  assert.deepEqual(await layerErrors('extension/session/new.ts', "import { Cmd } from '../protocol/constants.js';\nimport { buildFunction } from '../../toolchain/function-build.js';\nexport const x = [Cmd, buildFunction];\n"), []);
  assert.deepEqual(await layerErrors('extension/api/new.ts', "import { openDevice } from '../connect/open-device.js';\nexport const o = openDevice;\n"), []);
});

test('the repository passes lint', async () => {
  const results = await eslint.lintFiles(['extension', 'toolchain', 'webview', 'test', 'bench', 'examples', 'scripts']);
  const problems = results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line} ${m.ruleId}: ${m.message}`));
  assert.deepEqual(problems, []);
});

test('browser globals are refused outside the webviews, allowed in them', async () => {
  const globals = async (file: string) => {
    const [result] = await eslint.lintText('export const body = document.body;\n', { filePath: `${repoRoot}/${file}` });
    return result.messages.filter((m) => m.ruleId === 'no-restricted-globals').map((m) => m.message);
  };
  assert.match((await globals('extension/notebook/new.ts'))[0] ?? '', /document is a browser global: DOM code belongs in webview\//);
  assert.match((await globals('toolchain/new.ts'))[0] ?? '', /browser global/);
  assert.deepEqual(await globals('webview/plot/new.ts'), []);
});

test('code out of format fails the lint, and --fix puts it in format', async () => {
  const messy = "export function f(a: number) {\n    if (a > 1) { return \"big\" }\n\n\n  return 'small'\n}\n";
  const [result] = await eslint.lintText(messy, { filePath: `${repoRoot}/extension/session/new.ts` });
  const rules = new Set(result.messages.map((m) => m.ruleId));
  for (const rule of ['@stylistic/indent', '@stylistic/quotes', '@stylistic/semi', '@stylistic/no-multiple-empty-lines']) assert.ok(rules.has(rule), `${rule} in ${[...rules]}`);
  const [fixed] = await new ESLint({ cwd: repoRoot, fix: true }).lintText(messy, { filePath: `${repoRoot}/extension/session/new.ts` });
  assert.equal(fixed.output, "export function f(a: number) {\n  if (a > 1) { return 'big'; }\n\n  return 'small';\n}\n");
});
