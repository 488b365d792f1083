/**
 * The device panel (a webview view in the ESP32-P4 activity bar container): heap, allocations,
 * loaded functions and recent calls. It is refreshed after every device operation and, only while
 * it is visible, every p4jit.panel.pollIntervalMs. Messages from the webview are validated and
 * must name something the panel was shown.
 */
import * as vscode from 'vscode';

import { formatResultArray, measurementParts, PREVIEW_ITEMS } from '../session/format.js';
import type { CallResult } from '../session/types.js';
import { createNonce, panelHtml } from '../../webview/html.js';
import { envelopeSeries, type PlotSeries } from '../../webview/plot/spec.js';
import {
  ARGUMENTS_OWNER, parseWebviewMessage, targetsKnownItem,
  type AllocationInfo, type CallRecord, type DoneMessage, type HeapInfo, type PanelState, type WebviewMessage,
} from '../../webview/messages.js';
import { readConfig } from './config.js';
import { EMULATOR_LABEL, type DeviceManager } from './device-manager.js';
import type { Runner } from './runner.js';

export const PANEL_VIEW_ID = 'p4jit.device';

export class DevicePanel implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private webviewReady = false;
  private heap: HeapInfo | null = null;
  private allocations: AllocationInfo[] = [];
  private poll: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;
  /** Call ids that stay unique across device sessions (each session counts from 1). */
  private readonly callIds = new WeakMap<CallResult, number>();
  private nextCallId = 1;
  /** The last state posted to the webview (read by the tests through p4jit._test.panelState). */
  lastPosted: PanelState | null = null;
  private readonly subscriptions: vscode.Disposable[];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly device: DeviceManager,
    private readonly runner: Runner,
    private readonly log: (line: string) => void,
  ) {
    this.subscriptions = [
      vscode.window.registerWebviewViewProvider(PANEL_VIEW_ID, this, { webviewOptions: { retainContextWhenHidden: false } }),
      device.onDidChange(() => void this.refresh()),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('p4jit.panel.pollIntervalMs')) this.schedulePolling();
      }),
    ];
  }

  get isReady(): boolean {
    return this.webviewReady;
  }

  /** Shows the panel without taking the focus from the editor the user works in. */
  async reveal(): Promise<void> {
    if (this.view) return this.view.show(true);
    await vscode.commands.executeCommand(`${PANEL_VIEW_ID}.focus`, { preserveFocus: true });
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.webviewReady = false;
    const assets = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    view.webview.options = { enableScripts: true, localResourceRoots: [assets] };
    view.webview.html = panelHtml({
      scriptUri: view.webview.asWebviewUri(vscode.Uri.joinPath(assets, 'panel.js')).toString(),
      styleUri: view.webview.asWebviewUri(vscode.Uri.joinPath(assets, 'panel.css')).toString(),
      cspSource: view.webview.cspSource,
      nonce: createNonce(),
    });
    view.webview.onDidReceiveMessage((raw: unknown) => void this.onMessage(raw));
    view.onDidChangeVisibility(() => {
      this.schedulePolling();
      if (view.visible) void this.refresh();
    });
    view.onDidDispose(() => {
      this.view = undefined;
      this.webviewReady = false;
      this.schedulePolling();
    });
    this.schedulePolling();
  }

  /** Re-reads heap and allocations from the device (when connected) and posts the new state. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true; // one more round after the current one, not one per request
      return this.refreshing;
    }
    this.refreshing = (async () => {
      do {
        this.refreshAgain = false;
        await this.readDevice();
        this.post();
      } while (this.refreshAgain);
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** The state the panel shows now. */
  state(): PanelState {
    const d = this.device;
    return {
      connection: {
        state: d.state,
        port: d.emulated ? `${EMULATOR_LABEL} (${d.port})` : d.port,
        emulated: d.emulated,
        firmware: d.state === 'connected' && d.info ? { board: d.info.board, protocolVersion: d.info.protocolVersion } : null,
        error: d.lastError,
      },
      heap: d.connected ? this.heap : null,
      allocations: d.connected ? this.allocations : [],
      functions: d.loadedFunctions().map((f) => ({
        key: f.key, name: f.name, file: f.file, addr: f.addr, size: f.size, allocSize: f.allocSize, stale: f.stale,
        lastResult: f.lastResult ? (f.lastResult.fault ? f.lastResult.fault.message : f.lastResult.returnDisplay) : null,
      })),
      calls: d.history().map((r) => this.callRecord(r)),
    };
  }

  private async readDevice(): Promise<void> {
    const session = this.device.current;
    if (!session) {
      this.heap = null;
      this.allocations = [];
      return;
    }
    try {
      this.heap = await session.heap();
      this.allocations = await session.allocations();
    } catch (e) {
      // The device may have gone between the check and the read; the disconnect event follows.
      this.log(`Panel: reading the heap failed: ${(e as Error).message}`);
    }
  }

  private post(): void {
    if (!this.view || !this.webviewReady) return;
    const state = this.state();
    this.lastPosted = state;
    void this.view.webview.postMessage({ type: 'state', state });
  }

  private callRecord(r: CallResult): CallRecord {
    let id = this.callIds.get(r);
    if (id === undefined) this.callIds.set(r, (id = this.nextCallId++));
    return {
      id,
      function: r.function,
      args: r.args.map((a) => a.display),
      returnValue: r.fault ? null : r.returnDisplay,
      measured: r.fault ? [] : measurementParts(r),
      output: r.output,
      arrays: Object.entries(r.arrays).map(([name, values]) => ({
        name, values: formatResultArray(r, name, PREVIEW_ITEMS), length: values.length, plot: smallPlot(name, values),
      })),
      fault: r.fault ? { message: r.fault.message, file: r.fault.file ?? null, line: r.fault.line ?? null } : null,
      at: r.at,
    };
  }

  private schedulePolling(): void {
    clearInterval(this.poll);
    this.poll = undefined;
    const interval = readConfig().pollIntervalMs;
    if (this.view?.visible && interval > 0) {
      this.poll = setInterval(() => {
        if (this.device.connected) void this.refresh();
      }, interval);
    }
  }

  private async onMessage(raw: unknown): Promise<void> {
    const message = parseWebviewMessage(raw);
    if (!message) {
      this.log(`Panel: ignored a malformed message ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    if (message.type === 'ready') {
      this.webviewReady = true;
      return this.refresh();
    }
    try {
      // The webview may only act on what it was shown.
      if (!this.lastPosted || !targetsKnownItem(message, this.lastPosted)) {
        this.log(`Panel: ignored ${message.type} for something the panel does not show`);
        return;
      }
      await vscode.window.withProgress({ location: { viewId: PANEL_VIEW_ID } }, () => this.act(message));
    } catch (e) {
      if (!(e instanceof vscode.CancellationError)) void vscode.window.showErrorMessage(`P4-JIT: ${(e as Error).message}`);
    } finally {
      await this.refresh();
      // this action's button comes back: its own answer, whatever states were posted meanwhile
      if ('action' in message && message.action) void this.view?.webview.postMessage({ type: 'done', action: message.action } satisfies DoneMessage);
    }
  }

  private async act(message: WebviewMessage): Promise<void> {
    const byKey = (key: string) => this.device.loadedFunctions().find((f) => f.key === key);
    switch (message.type) {
      case 'refresh':
        return;
      case 'connect':
        await this.device.ensureSession();
        return;
      case 'freeFunction': {
        const fn = byKey(message.key);
        if (fn) await this.runner.free(fn.key);
        return;
      }
      case 'runFunction': {
        const fn = byKey(message.key);
        if (fn) await this.runner.exec(fn.key);
        return;
      }
      case 'freeAllocation':
        return this.freeAllocation(message.addr);
      case 'exportArray': {
        const result = this.device.history().find((r) => this.callIds.get(r) === message.call);
        if (result) await vscode.commands.executeCommand('p4jit.exportArray', result, message.name);
        return;
      }
      case 'openSource': {
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(message.file));
        const line = Math.min(message.line, doc.lineCount) - 1;
        await vscode.window.showTextDocument(doc, { selection: new vscode.Range(line, 0, line, 0) });
        return;
      }
    }
  }

  private async freeAllocation(addr: number): Promise<void> {
    const allocation = this.allocations.find((a) => a.addr === addr);
    const fn = this.device.loadedFunctions().find((f) => !f.stale && f.addr === addr);
    if (fn) return this.runner.free(fn.key); // freeing a function's code unloads the function
    if (allocation?.owner === ARGUMENTS_OWNER) {
      void vscode.window.showInformationMessage('P4-JIT: this is the argument buffer of loaded functions; "Free All" releases it.');
      return;
    }
    const session = this.device.current;
    if (session) await this.device.exclusive(() => session.client.free(addr));
  }

  dispose(): void {
    clearInterval(this.poll);
    this.subscriptions.forEach((s) => s.dispose());
  }
}

/** Arrays longer than a few values show as a small plot in the panel (numbers stay one click away). */
const PLOT_FROM = 9;

function smallPlot(name: string, values: readonly unknown[]): PlotSeries | undefined {
  if (values.length < PLOT_FROM || !values.every((v) => typeof v === 'number' || typeof v === 'bigint')) return undefined;
  return envelopeSeries(name, values.map(Number));
}
