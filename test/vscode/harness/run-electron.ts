// Runs the same integration suite in a desktop VS Code downloaded by @vscode/test-electron.
// Needs internet access (the download) and, on Linux without a desktop, a display: `xvfb-run -a`.
// Where neither is available use run-code-server, which needs neither.
//
// CLI:  node out/test/vscode/harness/run-electron.js --extension <dir> --tests <suite index.js>
//         [--workspace <dir>] [--vscode-version <x.y.z|stable|insiders>] [--grep <text>]
// Exit code: 0 suite passed, 1 suite failed, 2 harness error.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runTests, TestRunFailedError } from '@vscode/test-electron';
import { repoRoot } from './code-server.js';

export interface ElectronRunOptions {
  extensionDevelopmentPath: string;
  extensionTestsPath: string;
  workspace?: string;      // default: a fresh empty folder
  vscodeVersion?: string;  // default: the VS Code inside the pinned code-server, so both runners agree
  grep?: string;           // passed to the suite as P4JIT_TEST_GREP (see mocha-index)
  cacheDir?: string;       // default <repo>/.vscode-test (downloads are cached there)
}

export const DEFAULT_VSCODE_VERSION = '1.100.3';

export async function runTestsInElectron(opts: ElectronRunOptions): Promise<number> {
  const cacheDir = resolve(opts.cacheDir ?? join(repoRoot(), '.vscode-test'));
  mkdirSync(join(cacheDir, 'runs'), { recursive: true });
  const stateDir = mkdtempSync(join(cacheDir, 'runs', 'electron-'));
  const workspace = resolve(opts.workspace ?? mkdtempSync(join(stateDir, 'workspace-')));
  try {
    return await runTests({
      version: opts.vscodeVersion ?? DEFAULT_VSCODE_VERSION,
      cachePath: cacheDir,
      extensionDevelopmentPath: resolve(opts.extensionDevelopmentPath),
      extensionTestsPath: resolve(opts.extensionTestsPath),
      // A fresh profile per run, other installed extensions disabled, no welcome page.
      launchArgs: [
        workspace,
        `--user-data-dir=${join(stateDir, 'user-data')}`,
        `--extensions-dir=${join(cacheDir, 'extensions')}`,
        '--disable-extensions',
        '--disable-telemetry',
      ],
      // No UI driver here: ui-bridge's uiDriverAvailable() is false and such tests skip.
      extensionTestsEnv: opts.grep ? { P4JIT_TEST_GREP: opts.grep } : undefined,
    });
  } catch (err) {
    if (err instanceof TestRunFailedError) return 1;
    throw err;
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const usage = (problem?: string): never => {
    if (problem) process.stderr.write(`[run-electron] ${problem}\n`);
    process.stderr.write('usage: run-electron --extension <dir> --tests <suite index.js> [--workspace <dir>] [--vscode-version <v>] [--grep <text>]\n');
    process.exit(2);
  };
  const { values } = (() => {
    try {
      return parseArgs({
        options: {
          extension: { type: 'string' },
          tests: { type: 'string' },
          workspace: { type: 'string' },
          'vscode-version': { type: 'string' },
          grep: { type: 'string' },
        },
      });
    } catch (err) {
      return usage((err as Error).message);
    }
  })();
  if (!values.extension || !values.tests) usage();
  const code = await runTestsInElectron({
    extensionDevelopmentPath: values.extension!,
    extensionTestsPath: values.tests!,
    workspace: values.workspace,
    vscodeVersion: values['vscode-version'],
    grep: values.grep,
  }).catch((err) => {
    process.stderr.write(`[run-electron] ${(err as Error).stack ?? err}\n`);
    return 2;
  });
  process.exit(code);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
