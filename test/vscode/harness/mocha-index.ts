// A reusable run() for VS Code extension test suites: finds the suite files next to the index,
// runs them with mocha inside the extension host and settles the way VS Code's test runner
// contract expects (resolve = all passed, reject = failures). Works the same under
// run-code-server and @vscode/test-electron.
//
// A suite index is then just:
//     import { runSuites } from '../harness/mocha-index.js';
//     export const run = () => runSuites({ dir: import.meta.dirname });
//
// Environment: P4JIT_TEST_GREP runs only the tests whose full title contains the text.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';
import { SUITE_BEGIN_MARKER, SUITE_END_MARKER } from './ui-bridge.js';

export interface SuiteOptions {
  dir: string;                 // folder holding the compiled suite files
  ui?: 'tdd' | 'bdd';          // default tdd (suite/test), as VS Code's own samples use
  pattern?: RegExp;            // which files are suites; default *.test.js / .cjs / .mjs
  timeoutMs?: number;          // per test; default 60 s (a real extension host is slow to warm)
  grep?: string;               // default: $P4JIT_TEST_GREP
}

export function findSuiteFiles(dir: string, pattern = /\.test\.[cm]?js$/): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => pattern.test(name))
    .sort()
    .map((name) => join(dir, name));
}

export async function runSuites(opts: SuiteOptions): Promise<void> {
  const mocha = new Mocha({
    ui: opts.ui ?? 'tdd',
    timeout: opts.timeoutMs ?? 60_000,
    color: false, // output is forwarded through the workbench console, not a terminal
    reporter: 'spec',
  });
  const grep = opts.grep ?? process.env.P4JIT_TEST_GREP;
  if (grep) mocha.grep(grep);

  const files = findSuiteFiles(opts.dir, opts.pattern);
  if (files.length === 0) throw new Error(`no test files in ${opts.dir}`);
  for (const file of files) mocha.addFile(file);
  // loadFilesAsync imports each file, so ES-module and CommonJS suites both work.
  await mocha.loadFilesAsync();

  console.log(SUITE_BEGIN_MARKER);
  const failures = await new Promise<number>((res) => mocha.run(res));
  console.log(SUITE_END_MARKER);
  if (failures > 0) throw new Error(`${failures} test${failures === 1 ? '' : 's'} failed`);
}
