// Installs a packaged P4-JIT .vsix into a code-server of its own (a fresh extensions folder) and
// runs packaged.check.ts against it. The tests themselves are carried by a minimal extension under
// development, so the extension under test is only the installed one.
//
// CLI: node out/test/vscode/suite/vsix/run-vsix.js --vsix <file.vsix> --workspace <dir> [--timeout <s>]
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { ensureCodeServer, repoRoot } from '../../harness/code-server.js';
import { EXIT_HARNESS, runTestsInCodeServer } from '../../harness/run-code-server.js';

const { values } = parseArgs({ options: { vsix: { type: 'string' }, workspace: { type: 'string' }, timeout: { type: 'string' } } });
if (!values.vsix || !values.workspace) {
  process.stderr.write('usage: run-vsix --vsix <file.vsix> --workspace <dir> [--timeout <s>]\n');
  process.exit(EXIT_HARNESS);
}

const root = repoRoot();
const sharedCache = join(root, '.vscode-test');
const entry = await ensureCodeServer(sharedCache);
// A cache folder of its own: the installed code-server is shared (linked), the extensions are not.
// (Under the system temp folder: a long path makes VS Code's IPC socket paths too long.)
const cache = mkdtempSync(join(tmpdir(), 'p4jit-vsix-'));
let code = EXIT_HARNESS;
try {
  for (const name of readdirSync(sharedCache)) {
    if (name.startsWith('code-server-')) symlinkSync(join(sharedCache, name), join(cache, name));
  }
  const extensionsDir = join(cache, 'extensions');
  mkdirSync(extensionsDir, { recursive: true });
  const xdg = join(cache, 'xdg');
  const started = Date.now();
  execFileSync(process.execPath, [entry, '--install-extension', resolve(values.vsix), '--extensions-dir', extensionsDir], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, XDG_CONFIG_HOME: join(xdg, 'config'), XDG_DATA_HOME: join(xdg, 'data'), TMPDIR: cache },
  });
  process.stderr.write(`[run-vsix] installed ${values.vsix} in ${Date.now() - started} ms\n`);
  if (!readdirSync(extensionsDir).some((d) => d.startsWith('p4-jit.p4-jit-'))) throw new Error('the extension did not install');

  // The carrier holds the compiled check (test modules get the `vscode` API of the extension they
  // are in) and finds mocha through a link to the repository's node_modules.
  const carrier = join(cache, 'carrier');
  for (const dir of ['test/vscode/suite/vsix', 'test/vscode/harness']) cpSync(join(root, 'out', dir), join(carrier, 'out', dir), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(carrier, 'node_modules'));
  writeFileSync(join(carrier, 'package.json'), JSON.stringify({
    name: 'p4jit-vsix-check', publisher: 'p4jit-tests', version: '0.0.0', type: 'module', engines: { vscode: '^1.100.0' },
  }));
  code = await runTestsInCodeServer({
    extensionDevelopmentPath: carrier,
    extensionTestsPath: join(carrier, 'out', 'test', 'vscode', 'suite', 'vsix', 'index.js'),
    workspace: values.workspace,
    cacheDir: cache,
    resultsDir: join(root, 'test-results', 'vscode-vsix'),
    timeoutMs: values.timeout ? Number(values.timeout) * 1000 : 600_000,
    env: { P4JIT_VSIX_EXTENSIONS_DIR: extensionsDir },
  });
} catch (e) {
  process.stderr.write(`[run-vsix] ${(e as Error).stack ?? e}\n`);
} finally {
  if (existsSync(cache)) rmSync(cache, { recursive: true, force: true });
}
process.exit(code);
