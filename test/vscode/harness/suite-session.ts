// Watches one workbench page while a test suite runs in its extension host: collects the exit code,
// prints the suite's output, keeps everything else in a log file and serves ui-bridge requests.
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { format } from 'node:util';
import type { ConsoleMessage, Page } from 'playwright-core';
import { parseUiRequest, SUITE_BEGIN_MARKER, SUITE_END_MARKER, writeUiReply, type UiRequest } from './ui-bridge.js';
import { performUiRequest } from './workbench.js';

export interface SuiteSessionOptions {
  bridgeDir: string;   // where replies to ui-bridge requests are written
  resultsDir: string;  // screenshots, workbench.log, the workbench's log files
  startedAt: number;   // for the time stamps in workbench.log
  print: (line: string) => void;  // the suite's output
  verbose?: (line: string) => void; // everything else, when wanted
}

const LOGGER_LINE = /^%c\s*(TRACE|DEBUG|INFO|WARN|ERR)\b/;

// Workbench lines that arrive while the suite runs and only say what the harness set up on purpose.
const EXPECTED_NOISE = [/^Ignoring fetching additional builtin extensions from gallery as it is disabled\.$/];

/**
 * The text of a page console message. The workbench's console logger calls
 * console.log('%c INFO', 'color: …', format, ...args), and while tests run VS Code routes the
 * extension host's console through that logger too; this rebuilds the line Node would print.
 */
export async function consoleText(msg: ConsoleMessage): Promise<{ level: string; text: string }> {
  const args = await Promise.all(msg.args().map((arg) => arg.jsonValue().catch(() => '[unserialisable]')));
  const match = typeof args[0] === 'string' ? LOGGER_LINE.exec(args[0]) : null;
  if (match && args.length > 2) return { level: match[1].toLowerCase(), text: format(...args.slice(2)) };
  return { level: msg.type(), text: msg.text() };
}

export class SuiteSession {
  /** Resolves with the code the workbench reports when the suite's run() settles. */
  readonly exitCode: Promise<number>;
  private reportExit!: (code: number) => void;
  private readonly workbenchLog: string;
  private consoleChain = Promise.resolve();
  private uiQueue = Promise.resolve(); // UI requests run one after another, never typing at once
  private inSuite = false;
  private sawSuite = false;
  private readonly beforeSuite: string[] = [];

  constructor(private readonly page: Page, private readonly opts: SuiteSessionOptions) {
    this.exitCode = new Promise((res) => (this.reportExit = res));
    mkdirSync(opts.resultsDir, { recursive: true });
    this.workbenchLog = join(opts.resultsDir, 'workbench.log');
    writeFileSync(this.workbenchLog, '');
  }

  async attach(): Promise<void> {
    // The hook @vscode/test-web uses: the workbench calls it with the result and its log files.
    await this.page.exposeFunction('codeAutomationExit', (code: number, logs?: { relativePath: string; contents: string }[]) => {
      for (const file of logs ?? []) {
        const target = join(this.opts.resultsDir, 'logs', file.relativePath);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, file.contents);
      }
      this.reportExit(code);
    });
    // Messages are handled strictly in order (reading their arguments is asynchronous).
    this.page.on('console', (msg) => {
      this.consoleChain = this.consoleChain.then(() => this.onConsole(msg)).catch(() => undefined);
    });
    this.page.on('pageerror', (err) => this.record('pageerror', err.stack ?? String(err)));
  }

  /** Waits (bounded) for pending output and UI requests; prints unmarked suite output. */
  async settle(timeoutMs = 5000): Promise<void> {
    await Promise.race([
      Promise.all([this.consoleChain, this.uiQueue]),
      new Promise((res) => setTimeout(res, timeoutMs).unref()),
    ]);
    // A suite that did not log the markers (not built on mocha-index): show what it printed.
    if (!this.sawSuite) this.beforeSuite.forEach((line) => this.opts.print(line));
  }

  private record(level: string, text: string): void {
    const at = ((Date.now() - this.opts.startedAt) / 1000).toFixed(1).padStart(6);
    appendFileSync(this.workbenchLog, `${at}s ${level} ${text}\n`);
  }

  private async onConsole(msg: ConsoleMessage): Promise<void> {
    const { level, text } = await consoleText(msg);
    const req = parseUiRequest(text);
    if (req) {
      this.record('ui', text);
      this.uiQueue = this.uiQueue.then(() => this.serve(req));
      return;
    }
    this.record(level, text);
    if (text === SUITE_BEGIN_MARKER) {
      this.inSuite = this.sawSuite = true;
    } else if (text === SUITE_END_MARKER) {
      this.inSuite = false;
    } else if (this.inSuite) {
      if (!EXPECTED_NOISE.some((re) => re.test(text))) this.opts.print(text);
    } else {
      if (!this.sawSuite) this.beforeSuite.push(text);
      this.opts.verbose?.(`workbench ${level}: ${text}`);
    }
  }

  private async serve(req: UiRequest): Promise<void> {
    try {
      const value = await performUiRequest(this.page, req, this.opts.resultsDir);
      writeUiReply(this.opts.bridgeDir, req.id, { ok: true, value });
    } catch (err) {
      writeUiReply(this.opts.bridgeDir, req.id, { ok: false, error: (err as Error).message ?? String(err) });
    }
  }
}
