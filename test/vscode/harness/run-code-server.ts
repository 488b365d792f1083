// Runs an extension's integration test suite inside a real VS Code without downloading one:
// code-server (VS Code server + web workbench + the ordinary Node extension host) driven by
// headless Chromium. The suite module is the same one @vscode/test-electron runs (it exports run()).
//
// CLI:  node out/test/vscode/harness/run-code-server.js --extension <dir> --tests <suite index.js>
//         [--workspace <dir>] [--timeout <s>] [--grep <text>] [--results <dir>]
//         [--screenshot] [--verbose] [--headed] [--keep]
// Exit code: 0 suite passed, 1 suite failed, 2 harness error or timeout, 130 interrupted.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BrowserContext, Page } from 'playwright-core';
import { CodeServer, ensureCodeServer, repoRoot } from './code-server.js';
import { SuiteSession } from './suite-session.js';
import { UI_BRIDGE_ENV } from './ui-bridge.js';
import { DEFAULT_CHROMIUM, launchBrowser, saveScreenshot } from './workbench.js';

export interface CodeServerRunOptions {
  extensionDevelopmentPath: string;
  extensionTestsPath: string;      // the compiled suite module exporting run()
  workspace?: string;              // folder to open; default: a fresh empty folder
  timeoutMs?: number;              // whole run, start-up included; default 10 minutes
  grep?: string;                   // passed to the suite as P4JIT_TEST_GREP (see mocha-index)
  env?: Record<string, string>;    // extra environment for code-server and the extension host
  cacheDir?: string;               // default <repo>/.vscode-test
  extensionsDir?: string;          // installed extensions; default <cacheDir>/extensions
  resultsDir?: string;             // screenshots and logs; default <repo>/test-results/vscode
  chromiumPath?: string;
  headless?: boolean;
  screenshot?: boolean;            // also save final.png when the suite passes
  verbose?: boolean;               // print the workbench's own log lines too (stderr)
  keepState?: boolean;             // keep the per-run user data folder for inspection
  signal?: AbortSignal;            // abort = clean shutdown, result 130
  print?: (line: string) => void;  // where the suite's output goes; default stdout
}

export const EXIT_PASSED = 0;
export const EXIT_FAILED = 1;
export const EXIT_HARNESS = 2;
export const EXIT_INTERRUPTED = 130;

/** Thrown out of any waiting step when the run must end early. */
class RunStopped extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** Races each step of a run against the deadline, an abort and code-server dying. */
class RunGuard {
  private readonly stopped: Promise<never>;
  private timer: NodeJS.Timeout | undefined;
  private stop!: (err: RunStopped) => void;

  constructor(timeoutMs: number, signal: AbortSignal | undefined) {
    this.stopped = new Promise<never>((_, rej) => (this.stop = rej));
    this.stopped.catch(() => undefined); // observed through race()
    this.timer = setTimeout(() => this.stop(new RunStopped(EXIT_HARNESS, `timed out after ${timeoutMs / 1000} s`)), timeoutMs);
    if (signal?.aborted) this.stop(new RunStopped(EXIT_INTERRUPTED, 'interrupted'));
    signal?.addEventListener('abort', () => this.stop(new RunStopped(EXIT_INTERRUPTED, 'interrupted')), { once: true });
  }

  watch(server: CodeServer): void {
    void server.ended.then(() => this.stop(new RunStopped(EXIT_HARNESS, 'code-server exited before the suite finished')));
  }

  race<T>(step: Promise<T>): Promise<T> {
    return Promise.race([step, this.stopped]);
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

export async function runTestsInCodeServer(opts: CodeServerRunOptions): Promise<number> {
  const root = repoRoot();
  const cacheDir = resolve(opts.cacheDir ?? join(root, '.vscode-test'));
  const resultsDir = resolve(opts.resultsDir ?? join(root, 'test-results', 'vscode'));
  const print = opts.print ?? ((line: string) => process.stdout.write(line + '\n'));
  const note = (line: string) => process.stderr.write(`[run-code-server] ${line}\n`);
  const startedAt = Date.now();
  const since = () => `${((Date.now() - startedAt) / 1000).toFixed(1)} s`;
  const guard = new RunGuard(opts.timeoutMs ?? 600_000, opts.signal);

  mkdirSync(join(cacheDir, 'runs'), { recursive: true });
  mkdirSync(resultsDir, { recursive: true });
  const stateDir = mkdtempSync(join(cacheDir, 'runs', 'run-'));
  const bridgeDir = join(stateDir, 'ui-bridge');
  mkdirSync(bridgeDir);
  const workspace = resolve(opts.workspace ?? mkdtempSync(join(stateDir, 'workspace-')));

  let server: CodeServer | undefined;
  let launching: Promise<BrowserContext> | undefined;
  let page: Page | undefined;
  const killOnExit = () => server?.killNow();
  process.once('exit', killOnExit); // last resort if the caller exits without awaiting us

  let code: number;
  try {
    const entry = await guard.race(ensureCodeServer(cacheDir, opts.signal));
    server = await CodeServer.launch({
      entry, stateDir, workspace,
      extensionsDir: resolve(opts.extensionsDir ?? join(cacheDir, 'extensions')),
      logFile: join(resultsDir, 'code-server.log'),
      env: { [UI_BRIDGE_ENV]: bridgeDir, ...(opts.grep ? { P4JIT_TEST_GREP: opts.grep } : {}), ...opts.env },
    });
    guard.watch(server);
    await guard.race(server.ready());
    const authority = await guard.race(server.remoteAuthority());
    note(`code-server ${server.url} ready at ${since()}`);

    launching = launchBrowser(stateDir, opts.chromiumPath ?? DEFAULT_CHROMIUM, opts.headless ?? true);
    const context = await guard.race(launching);
    page = context.pages()[0] ?? (await guard.race(context.newPage()));
    const session = new SuiteSession(page, {
      bridgeDir, resultsDir, startedAt, print,
      verbose: opts.verbose ? note : undefined,
    });
    await guard.race(session.attach());

    // The test payload, passed the way @vscode/test-web passes it; paths are on the server's side.
    const remote = (path: string) => `vscode-remote://${authority}${encodeURI(resolve(path))}`;
    const payload = [
      ['extensionDevelopmentPath', remote(opts.extensionDevelopmentPath)],
      ['extensionTestsPath', remote(opts.extensionTestsPath)],
    ];
    await guard.race(page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`,
      { waitUntil: 'domcontentloaded', timeout: 0 })); // the guard owns the deadline
    note(`workbench loaded at ${since()}`);

    code = (await guard.race(session.exitCode)) === 0 ? EXIT_PASSED : EXIT_FAILED;
    await session.settle();
  } catch (err) {
    if (!(err instanceof RunStopped)) {
      note(`error: ${(err as Error).stack ?? err}`);
      code = EXIT_HARNESS;
    } else {
      note(err.message);
      code = err.code;
    }
  } finally {
    guard.dispose();
  }

  try {
    note(code === EXIT_PASSED ? `suite passed at ${since()}` : `finished with exit code ${code} at ${since()}`);
    if (page && code !== EXIT_PASSED && code !== EXIT_INTERRUPTED) {
      const shot = await saveScreenshot(page, resultsDir, 'failure').catch(() => undefined);
      if (shot) note(`screenshot: ${shot}`);
    } else if (page && opts.screenshot) {
      await saveScreenshot(page, resultsDir, 'final').catch(() => undefined);
    }
  } finally {
    // Whatever happened above: browser closed, code-server's whole process group gone.
    const context = await launching?.catch(() => undefined);
    await context?.close().catch(() => undefined);
    await server?.stop();
    process.removeListener('exit', killOnExit);
    if (!opts.keepState) rmSync(stateDir, { recursive: true, force: true });
    note(`shut down at ${since()}`);
  }
  return code;
}

async function main(): Promise<void> {
  const usage = (problem?: string): never => {
    if (problem) process.stderr.write(`[run-code-server] ${problem}\n`);
    process.stderr.write('usage: run-code-server --extension <dir> --tests <suite index.js> [--workspace <dir>] [--timeout <s>]\n' +
      '         [--grep <text>] [--results <dir>] [--screenshot] [--verbose] [--headed] [--keep]\n');
    process.exit(EXIT_HARNESS);
  };
  const { values } = (() => {
    try {
      return parseArgs({
        options: {
          extension: { type: 'string' },
          tests: { type: 'string' },
          workspace: { type: 'string' },
          timeout: { type: 'string' },
          grep: { type: 'string' },
          results: { type: 'string' },
          screenshot: { type: 'boolean' },
          verbose: { type: 'boolean' },
          headed: { type: 'boolean' },
          keep: { type: 'boolean' },
        },
      });
    } catch (err) {
      return usage((err as Error).message);
    }
  })();
  if (!values.extension || !values.tests) usage();
  const abort = new AbortController();
  const interrupt = () => {
    if (abort.signal.aborted) process.exit(EXIT_INTERRUPTED); // second Ctrl+C: stop waiting for cleanup
    process.stderr.write('[run-code-server] interrupted: shutting down\n');
    abort.abort();
  };
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', interrupt);
  const code = await runTestsInCodeServer({
    extensionDevelopmentPath: values.extension!,
    extensionTestsPath: values.tests!,
    workspace: values.workspace,
    timeoutMs: values.timeout ? Number(values.timeout) * 1000 : undefined,
    grep: values.grep,
    resultsDir: values.results,
    screenshot: values.screenshot,
    verbose: values.verbose,
    headless: !values.headed,
    keepState: values.keep,
    signal: abort.signal,
  }).catch((err) => {
    process.stderr.write(`[run-code-server] ${(err as Error).stack ?? err}\n`);
    return EXIT_HARNESS;
  });
  process.exit(code);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
