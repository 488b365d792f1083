// Runs the real panel bundle in headless Chromium the way VS Code hosts it: the document from
// panelHtml() with its CSP, served over HTTP, a stub acquireVsCodeApi that records what the panel
// posts, and `state` messages posted into the window.
import http from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createNonce, panelHtml } from '../../webview/html.js';
import type { PanelState, WebviewMessage } from '../../webview/messages.js';
import type { WebviewTheme } from './themes.js';

/** The project root (this file runs as out/test/webview/harness.js). */
export const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const screenshotDir = path.join(projectRoot, 'test-results', 'webview');

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run',
];

export interface Harness {
  url: string;
  context: BrowserContext;
  close(): Promise<void>;
}

/** Builds the bundle from the current sources, serves it, and starts a browser with a fresh profile. */
export async function startHarness(): Promise<Harness> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'p4jit-webview-'));
  const bundleDir = path.join(scratch, 'bundle');
  const build = await import(pathToFileURL(path.join(projectRoot, 'webview', 'build.mjs')).href) as {
    buildWebview(outDir: string): Promise<unknown>;
  };
  await build.buildWebview(bundleDir);

  const server = http.createServer((request, response) => {
    serve(bundleDir, request, response).catch((error: unknown) => {
      response.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  const context = await chromium.launchPersistentContext(path.join(scratch, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 360, height: 900 },
    deviceScaleFactor: 2,
  });
  return {
    url: `http://127.0.0.1:${port}`,
    context,
    async close() {
      await context.close();
      await new Promise((resolve) => server.close(resolve));
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

async function serve(bundleDir: string, request: http.IncomingMessage, response: http.ServerResponse) {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const origin = `http://${request.headers.host}`;
  if (url.pathname === '/') {
    let html = panelHtml({
      scriptUri: `${origin}/panel.js`, styleUri: `${origin}/panel.css`, cspSource: origin, nonce: createNonce(),
    });
    // Negative control: the script tag carries a nonce the CSP does not list, so it must be blocked.
    if (url.searchParams.has('wrong-nonce')) html = html.replace(/<script nonce="[^"]+"/, `<script nonce="${createNonce()}"`);
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    return;
  }
  if (url.pathname === '/favicon.ico') {
    response.writeHead(204).end(); // a browser tab asks for it; a webview frame does not
    return;
  }
  if (url.pathname === '/renderer') {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(rendererPage(origin));
    return;
  }
  if (url.pathname === '/renderer-host.js') {
    response.writeHead(200, { 'content-type': 'text/javascript' }).end(RENDERER_HOST);
    return;
  }
  const types: Record<string, string> = {
    '/panel.js': 'text/javascript', '/panel.css': 'text/css', '/notebook-renderer.js': 'text/javascript',
  };
  const type = types[url.pathname];
  if (!type) {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { 'content-type': type }).end(await readFile(path.join(bundleDir, url.pathname)));
}

/**
 * A stand-in for the notebook's output frame: scripts only from this origin (the renderer module
 * and the host below), no network, inline styles allowed as in VS Code's notebook webview.
 */
function rendererPage(origin: string): string {
  const csp = `default-src 'none'; script-src ${origin}; style-src 'unsafe-inline'; img-src data:`;
  return `<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}"></head>
<body><script type="module" src="/renderer-host.js"></script></body></html>`;
}

/** Calls the renderer the way VS Code does: activate() once, renderOutputItem per output. */
const RENDERER_HOST = `
import { activate } from '/notebook-renderer.js';
const renderer = activate({});
window.__renderPlot = (id, value, width) => {
  let element = document.getElementById(id);
  if (!element) {
    element = document.createElement('div');
    element.id = id;
    element.style.width = width + 'px';
    document.body.append(element);
  }
  renderer.renderOutputItem({
    id, mime: 'application/vnd.p4jit.plot+json', metadata: {},
    json: () => value, text: () => JSON.stringify(value), data: () => new TextEncoder().encode(JSON.stringify(value)), blob: () => new Blob([JSON.stringify(value)]),
  }, element);
};
window.__disposePlot = (id) => renderer.disposeOutputItem(id);
window.__rendererReady = true;
`;

export interface PanelPage {
  page: Page;
  /** Messages the panel posted, in order. */
  posted(): Promise<WebviewMessage[]>;
  clearPosted(): Promise<void>;
  /** Posts a state message and resolves once the panel has rendered it. */
  showState(state: PanelState): Promise<void>;
  /** Posts the extension's `done` for an action and resolves once the panel has rendered it. */
  showDone(action: string): Promise<void>;
  /** CSP violations the page reported (securitypolicyviolation events). */
  cspViolations(): Promise<string[]>;
  /** Uncaught errors and console errors. */
  errors: string[];
  /** Reloads the document, as VS Code does when a hidden webview is shown again. */
  reload(): Promise<void>;
  close(): Promise<void>;
}

interface HarnessWindow {
  __posted: unknown[];
  __cspViolations: string[];
}

export async function openPanel(harness: Harness, theme: WebviewTheme, query = ''): Promise<PanelPage> {
  const page = await harness.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  // Init scripts run before the page's own scripts and are not subject to its CSP, like the
  // code VS Code injects into its webview frames.
  await page.addInitScript(() => {
    const w = window as unknown as HarnessWindow & { acquireVsCodeApi(): unknown };
    w.__posted = [];
    w.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      w.__cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI || '(inline)'}`);
    });
    // VS Code keeps a webview's saved state outside the frame; sessionStorage survives a reload the same way.
    let acquired = false;
    w.acquireVsCodeApi = () => {
      if (acquired) throw new Error('acquireVsCodeApi called twice');
      acquired = true;
      return {
        // A structured clone, as the real postMessage makes.
        postMessage: (message: unknown) => w.__posted.push(structuredClone(message)),
        getState: () => JSON.parse(sessionStorage.getItem('vscodeState') ?? 'null') ?? undefined,
        setState: (state: unknown) => {
          sessionStorage.setItem('vscodeState', JSON.stringify(state));
          return state;
        },
      };
    };
  });
  await page.goto(`${harness.url}/${query}`);
  await applyTheme(page, theme);
  const post = (message: unknown) => page.evaluate((m) => new Promise<void>((resolve) => {
    // The panel's own listener was added first, so it queues its render frame before this one.
    window.addEventListener('message', () => requestAnimationFrame(() => resolve()), { once: true });
    window.postMessage(m, '*');
  }), message);
  return {
    page,
    errors,
    posted: () => page.evaluate(() => (window as unknown as HarnessWindow).__posted as WebviewMessage[]),
    clearPosted: () => page.evaluate(() => { (window as unknown as HarnessWindow).__posted.length = 0; }),
    cspViolations: () => page.evaluate(() => (window as unknown as HarnessWindow).__cspViolations),
    showState: (state) => post({ type: 'state', state }),
    showDone: (action) => post({ type: 'done', action }),
    reload: async () => {
      await page.reload();
      await applyTheme(page, theme);
    },
    close: () => page.close(),
  };
}

/** Sets the theme the way VS Code does: variables on <html>, the kind as a class on <body>. */
export async function applyTheme(page: Page, theme: WebviewTheme): Promise<void> {
  await page.evaluate((t) => {
    const html = document.documentElement;
    for (const [name, value] of Object.entries(t.variables)) html.style.setProperty(`--vscode-${name}`, value);
    // VS Code paints the view's background behind the webview frame.
    html.style.background = 'var(--vscode-sideBar-background)';
    document.body.classList.remove('vscode-dark', 'vscode-light');
    document.body.classList.add(t.kind);
  }, theme);
}
