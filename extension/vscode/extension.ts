/**
 * P4-JIT for VS Code: the only module tree that imports `vscode`. Everything it drives (device
 * client, emulator, toolchain, JIT session) is plain Node, shared with the CLI and the tests.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

import { capsNames, DeviceCap } from '../protocol/constants.js';
import { setParserWasmPaths } from '../../toolchain/signature.js';
import { describeCounter } from '../session/format.js';
import type { CallResult } from '../session/types.js';
import type { PanelState } from '../../webview/messages.js';
import { RunCodeLensProvider } from './codelens.js';
import { readConfig, settingWarnings, storePort } from './config.js';
import { DeviceManager, EMULATOR_LABEL } from './device-manager.js';
import { DisassemblyProvider, DISASSEMBLY_SCHEME, showDisassembly } from './disassembly.js';
import { ArrayExporter } from './export-array.js';
import { LoadTaskProvider, type ReloadOutcome } from './load-task.js';
import { NotebookController } from './notebook-controller.js';
import { DevicePanel, PANEL_VIEW_ID } from './panel.js';
import { pickPort } from './port-picker.js';
import { SourceDiagnostics } from './results.js';
import { Runner } from './runner.js';
import { DeviceStatusItem } from './status-bar.js';
import { errorMessage, P4JitError } from '../util/errors.js';
import { stopToolRunner } from '../../toolchain/tool-runner.js';

/** Set by the bundle's banner (scripts/bundle.mjs); absent when running from tsc output. */
declare const __p4jitLoadStart: number | undefined;

/** What activate() returns: a small window into the extension for its integration tests. */
export interface P4JitApi {
  activationMs: number;
  loadAndActivateMs: number;
  device: DeviceManager;
  runner: Runner;
  exporter: ArrayExporter;
  statusText(): string;
  statusTooltip(): string;
  panelState(): PanelState | null;
  panelReady(): boolean;
  /** Settings reported as invalid so far (e.g. "p4jit.optimization"). */
  settingWarnings(): readonly string[];
  onDidReload: vscode.Event<ReloadOutcome>;
}

let device: DeviceManager | undefined;

export function activate(context: vscode.ExtensionContext): P4JitApi {
  const started = performance.now();
  // The bundle ships the parser's WebAssembly next to it (no node_modules in the package).
  setParserWasmPaths({
    runtime: vscode.Uri.joinPath(context.extensionUri, 'dist', 'web-tree-sitter.wasm').fsPath,
    language: vscode.Uri.joinPath(context.extensionUri, 'dist', 'tree-sitter-c.wasm').fsPath,
  });

  const output = vscode.window.createOutputChannel('P4-JIT');
  const log = (line: string) => output.appendLine(line);
  device = new DeviceManager(context, log);
  const diagnostics = new SourceDiagnostics();
  const runner = new Runner(context, device, diagnostics, output);
  const status = new DeviceStatusItem(device);
  const panel = new DevicePanel(context.extensionUri, device, runner, log);
  const tasks = new LoadTaskProvider(device, diagnostics, log);
  const lenses = new RunCodeLensProvider(device);
  const dev = device;
  const exporter = new ArrayExporter(() => dev.history(), log);
  const notebooks = new NotebookController(dev);

  const command = (id: string, fn: (...args: any[]) => unknown) => vscode.commands.registerCommand(id, fn);
  // Menus and the palette offer Start or Stop Emulator, Disconnect, only when they can act.
  const updateContext = () => {
    void vscode.commands.executeCommand('setContext', 'p4jit.emulatorRunning', dev.hasEmulator);
    void vscode.commands.executeCommand('setContext', 'p4jit.connected', dev.connected);
  };
  updateContext();
  // The first result of each connection reveals the panel; later ones leave the layout alone.
  let revealedFor = 0;
  const revealOnFirstResult = runner.onDidReport(() => {
    if (revealedFor === dev.connectionCount) return;
    revealedFor = dev.connectionCount;
    void panel.reveal();
  });
  context.subscriptions.push(
    output, diagnostics, status, panel, tasks, lenses, notebooks,
    dev.onDidChange(updateContext), revealOnFirstResult,
    vscode.languages.registerCodeLensProvider([{ language: 'c', scheme: 'file' }, { language: 'cpp', scheme: 'file' }], lenses),
    vscode.workspace.registerTextDocumentContentProvider(DISASSEMBLY_SCHEME, new DisassemblyProvider(dev)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('p4jit')) {
        readConfig(); // reports bad values now rather than at the next run
        dev.applySettings();
      }
    }),

    command('p4jit.runFunction', (uri?: vscode.Uri, name?: string, args?: string[]) => runner.run(uri, name, args)),
    command('p4jit.rerunLast', () => runner.rerunLast()),
    command('p4jit.upload', (uri?: vscode.Uri, name?: string) => runner.upload(uri, name)),
    command('p4jit.exec', (key?: string, args?: string[]) => runner.exec(key, args)),
    command('p4jit.free', (key?: string) => guard(() => runner.free(key))),
    command('p4jit.exportArray', (result?: CallResult, name?: string) => guard(() => exporter.run(result, name))),
    command('p4jit.freeAll', () => guard(() => runner.freeAll())),
    command('p4jit.showDisassembly', async (key?: string) => {
      const fn = key ? dev.loadedFunctions().find((f) => f.key === key) : await runner.pickLoaded('Disassemble which loaded function?', true);
      return fn ? showDisassembly(fn) : undefined;
    }),

    // a notebook's loaded-functions output links here by name (the newest loaded with that name)
    command('p4jit.showDisassemblyOf', async (names: string | string[]) => {
      const list = typeof names === 'string' ? [names] : names;
      const name = list.length > 1 ? await vscode.window.showQuickPick(list, { title: 'P4-JIT: Disassemble which function?' }) : list[0];
      if (!name) return undefined;
      const fn = dev.loadedFunctions().filter((f) => f.name === name && !f.stale).at(-1);
      return fn ? showDisassembly(fn) : vscode.window.showWarningMessage(`P4-JIT: ${name} is not loaded (run its cell again).`);
    }),
    command('p4jit.restartNotebook', (uri?: vscode.Uri) => {
      const target = uri ?? vscode.window.activeNotebookEditor?.notebook.uri;
      return target ? notebooks.restart(target) : undefined;
    }),

    command('p4jit.connect', () => guard(() => dev.ensureSession().then(() => undefined))),
    command('p4jit.disconnect', () => dev.disconnect()),
    command('p4jit.selectPort', async (port?: string) => {
      port ??= await pickPort();
      if (!port) return undefined;
      await storePort(port);
      if (port === 'auto') return dev.disconnect();
      return guard(() => dev.connect(port).then(() => undefined));
    }),
    command('p4jit.startEmulator', () => guard(() => dev.startEmulator().then(() => undefined))),
    command('p4jit.stopEmulator', () => dev.stopEmulator()),
    command('p4jit.ping', () => guard(async () => {
      const session = await dev.ensureSession();
      const data = randomBytes(16);
      const t0 = performance.now();
      const echo = await session.client.ping(data);
      const ms = performance.now() - t0;
      if (!echo.equals(data)) throw new P4JitError('the device answered PING with different bytes');
      void vscode.window.showInformationMessage(`P4-JIT: ${dev.emulated ? EMULATOR_LABEL : dev.port} answered in ${ms.toFixed(1)} ms.`);
      return ms;
    })),
    command('p4jit.showInfo', () => guard(async () => {
      const session = await dev.ensureSession();
      const info = await session.client.readInfo();
      const caps = Object.entries(DeviceCap).filter(([, bit]) => info.capabilities & bit).map(([name]) => name).join(', ');
      const facts = describeCounter(info);
      log([
        `Device ${dev.emulated ? EMULATOR_LABEL : dev.port}: ${info.board}, protocol ${info.protocolVersion}`,
        `  counts ${facts.counter}`,
        `  cache ${facts.cache}; max payload ${info.maxPayload} bytes, ${info.maxArgs} argument slots`,
        `  calls: default limit ${info.defaultCallMs} ms, max ${info.maxCallMs} ms; allocations: max ${info.maxAllocs} (${info.maxAllocBytes} bytes)`,
        `  capabilities: ${caps || 'none'}`,
        `  firmware ${info.firmwareId.slice(0, 16)}…, reset reason ${info.resetReason}${info.lastFault ? ', a fault was recorded before the last reset' : ''}`,
      ].join('\n'));
      output.show(true);
      void vscode.window.showInformationMessage(`P4-JIT: ${info.board}, protocol ${info.protocolVersion}, ${info.maxArgs} argument slots (details in the output).`);
      return info;
    })),
    command('p4jit.showHeap', () => guard(async () => {
      const session = await dev.ensureSession();
      const heap = await session.heap();
      const allocations = await session.allocations();
      const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
      log(`Heap: PSRAM ${kib(heap.freeSpiram)} free of ${kib(heap.totalSpiram)}; internal ${kib(heap.freeInternal)} free of ${kib(heap.totalInternal)}`);
      for (const a of allocations) log(`  0x${a.addr.toString(16)}  ${a.size} bytes  ${capsNames(a.caps).join('|')}  ${a.owner ?? ''}`);
      await vscode.commands.executeCommand(`${PANEL_VIEW_ID}.focus`);
      return heap;
    })),
    command('p4jit.openPanel', () => vscode.commands.executeCommand(`${PANEL_VIEW_ID}.focus`)),
    command('p4jit.refreshPanel', () => panel.refresh()),
    // For the integration tests: what the panel was last told, and the device's own heap figures.
    command('p4jit._test.panelState', () => panel.lastPosted),
    command('p4jit._test.deviceHeap', () => dev.current?.heap()),
  );

  const activationMs = performance.now() - started;
  // from the first line of the bundle (scripts/bundle.mjs sets __p4jitLoadStart) to here
  const loadAndActivateMs = typeof __p4jitLoadStart === 'number' ? performance.now() - __p4jitLoadStart : activationMs;
  log(`P4-JIT activated in ${activationMs.toFixed(1)} ms (${loadAndActivateMs.toFixed(1)} ms with loading the bundle)`);
  return {
    activationMs,
    loadAndActivateMs,
    device: dev,
    runner,
    exporter,
    statusText: () => status.text,
    statusTooltip: () => status.tooltip,
    panelState: () => panel.lastPosted,
    panelReady: () => panel.isReady,
    settingWarnings: () => settingWarnings,
    onDidReload: tasks.onDidReload,
  };

  /** Runs a command body; a failure becomes one error notification (a cancel stays silent). */
  async function guard<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (e) {
      if (e instanceof vscode.CancellationError) return undefined;
      const message = errorMessage(e);
      log(`Error: ${message}`);
      void vscode.window.showErrorMessage(`P4-JIT: ${message}`);
      return undefined;
    }
  }
}

export async function deactivate(): Promise<void> {
  // Stops the emulator we started and frees what we loaded; subscriptions are disposed by VS Code.
  await device?.dispose();
  device = undefined;
  stopToolRunner();
}
