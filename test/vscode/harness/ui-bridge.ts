// Suite-side helper for user-style UI actions (command palette, keys, quick picks, screenshots).
//
// Test suites run inside the extension host and cannot touch the workbench's DOM. When they run
// under run-code-server, a browser driver watches the page console: a suite logs a request line,
//     P4JIT-UI[<id>] <action> <JSON argument>
// the runner performs the action with real keystrokes and then writes the reply file
//     $P4JIT_UI_BRIDGE_DIR/<id>.json   = {"ok":true,"value":...} or {"ok":false,"error":"..."}
// which the suite polls (code-server and the extension host share the runner's machine, and the
// extension host inherits the runner's environment). Under a runner without a browser driver
// (test-electron) the variable is absent: `uiDriverAvailable()` is false and suites skip such tests.
//
// Pure Node on purpose: no vscode, no playwright, so it loads in the extension host and the runner.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const UI_BRIDGE_ENV = 'P4JIT_UI_BRIDGE_DIR';

// Logged by mocha-index around the suite so the runner can print the suite's output and keep the
// workbench's own log lines (which arrive through the same channel) in a log file.
export const SUITE_BEGIN_MARKER = 'P4JIT-TEST suite begin';
export const SUITE_END_MARKER = 'P4JIT-TEST suite end';

export const UI_ACTIONS = [
  'palette',        // argument: a command title as shown in the palette, e.g. "P4-JIT: Run on ESP32-P4"
  'paletteItems',   // argument: what a user types into the palette; value: the labels it lists
  'press',          // argument: a key chord in Playwright syntax, e.g. "Escape", "Control+Shift+P"
  'type',           // argument: text typed into whatever has focus
  'quickPick',      // argument: the label of an item of the open quick pick / quick input to accept
  'quickPickItems', // argument: unused; value: the labels of the open quick pick's items
  'click',          // argument: a Playwright selector in the workbench (e.g. a notification's button)
  'texts',          // argument: a Playwright selector in the workbench; value: the visible matches' texts
  'webviewClick',   // argument: a Playwright selector inside a webview (the panel's own buttons)
  'webviewTexts',   // argument: a Playwright selector inside a webview; value: the matches' texts
  'screenshot',     // argument: a file name stem; saved by the runner under test-results/vscode/
  'screenshotSidebar', // argument: a file name stem; only the side bar (where the device panel is)
  'frameTexts',     // argument: a selector; value: the visible texts of its matches in every webview frame (a notebook's outputs)
  'screenshotEditor', // argument: a file name stem; only the editor area (a notebook and its outputs)
] as const;
export type UiAction = typeof UI_ACTIONS[number];

export interface UiRequest {
  id: string;
  action: UiAction;
  arg: string;
}

export interface UiReply {
  ok: boolean;
  error?: string;
  /** What a query action found (labels, texts). */
  value?: unknown;
}

const REQUEST_PATTERN = new RegExp(`P4JIT-UI\\[([\\w.-]+)\\] (${UI_ACTIONS.join('|')}) ("(?:[^"\\\\]|\\\\.)*")`);

export function formatUiRequest(req: UiRequest): string {
  return `P4JIT-UI[${req.id}] ${req.action} ${JSON.stringify(req.arg)}`;
}

/** Finds a request in a console line (the workbench may decorate forwarded lines). */
export function parseUiRequest(line: string): UiRequest | undefined {
  const match = REQUEST_PATTERN.exec(line);
  if (!match) return undefined;
  return { id: match[1], action: match[2] as UiAction, arg: JSON.parse(match[3]) as string };
}

/** Runner side: publishes the reply atomically so the suite never reads half a file. */
export function writeUiReply(dir: string, id: string, reply: UiReply): void {
  const file = join(dir, `${id}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify(reply));
  renameSync(`${file}.tmp`, file);
}

export function uiDriverAvailable(): boolean {
  return Boolean(process.env[UI_BRIDGE_ENV]);
}

let nextId = 0;
const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Asks the runner to perform one action, waits until it reports it done, and returns what it found. */
export async function requestUi(action: UiAction, arg: string, timeoutMs = 60_000): Promise<unknown> {
  const dir = process.env[UI_BRIDGE_ENV];
  if (!dir) throw new Error(`no UI driver: ${UI_BRIDGE_ENV} is not set (run the suite through run-code-server)`);
  const id = `${process.pid}-${++nextId}`;
  const file = join(dir, `${id}.json`);
  console.log(formatUiRequest({ id, action, arg }));
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`UI driver did not perform ${action} ${JSON.stringify(arg)} within ${timeoutMs} ms`);
    await sleep(50);
  }
  const reply = JSON.parse(readFileSync(file, 'utf8')) as UiReply;
  rmSync(file, { force: true });
  if (!reply.ok) throw new Error(`UI ${action} ${JSON.stringify(arg)} failed: ${reply.error}`);
  return reply.value;
}

/** Ctrl+Shift+P, types the title, accepts it once the palette lists it (retried until it does). */
export const palette = async (title: string, timeoutMs?: number) => void await requestUi('palette', title, timeoutMs);
export const pressKeys = async (keys: string, timeoutMs?: number) => void await requestUi('press', keys, timeoutMs);
export const typeText = async (text: string, timeoutMs?: number) => void await requestUi('type', text, timeoutMs);
export const pickQuickItem = async (label: string, timeoutMs?: number) => void await requestUi('quickPick', label, timeoutMs);
export const click = async (selector: string, timeoutMs?: number) => void await requestUi('click', selector, timeoutMs);
export const webviewClick = async (selector: string, timeoutMs?: number) => void await requestUi('webviewClick', selector, timeoutMs);
export const screenshot = async (name: string, timeoutMs?: number) => void await requestUi('screenshot', name, timeoutMs);
export const screenshotSidebar = async (name: string, timeoutMs?: number) => void await requestUi('screenshotSidebar', name, timeoutMs);
/** Opens the palette, types `text` (no ">" needed), lists the labels shown, and closes it again. */
export const paletteItems = async (text: string) => (await requestUi('paletteItems', text)) as string[];
export const quickPickItems = async () => (await requestUi('quickPickItems', '')) as string[];
export const texts = async (selector: string) => (await requestUi('texts', selector)) as string[];
export const webviewTexts = async (selector: string) => (await requestUi('webviewTexts', selector)) as string[];
export const frameTexts = async (selector: string) => (await requestUi('frameTexts', selector)) as string[];
export const screenshotEditor = async (name: string, timeoutMs?: number) => void await requestUi('screenshotEditor', name, timeoutMs);

/** Polls until `check` returns a truthy value (UI actions take effect asynchronously). */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}
