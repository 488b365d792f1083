/**
 * The notebook controller "ESP32-P4 (P4-JIT)" for Jupyter notebooks (.ipynb, opened by VS Code's
 * own Jupyter serializer): each notebook gets a NotebookKernel on the extension's device connection
 * (the same device, panel and history as the editor's runs), cells run one at a time in the order
 * asked, and the kernel's outputs become cell outputs: text, errors, the loaded functions, plots.
 */
import { dirname } from 'node:path';
import * as vscode from 'vscode';

import { Device } from '../api/device.js';
import type { CellOutput, LoadedEntry, NotebookKernel } from '../notebook/kernel.js';
import { CELL_LANGUAGES } from '../notebook/languages.js';
import { PLOT_MIME, type PlotSpec } from '../../webview/plot/spec.js';
import { EMULATOR_LABEL, type DeviceManager } from './device-manager.js';

export const NOTEBOOK_CONTROLLER_ID = 'p4jit-notebook';
/** The kernelspec name a notebook saved for P4-JIT carries in its metadata. */
const KERNELSPEC_NAME = 'p4jit';

export class NotebookController implements vscode.Disposable {
  private readonly controller: vscode.NotebookController;
  private readonly kernels = new Map<string, KernelEntry>();
  private readonly subscriptions: vscode.Disposable[] = [];
  private device: Device | undefined;
  private order = 0;
  /** What each C cell loaded (by cell URI), for its status bar link to the disassembly. */
  private readonly cellFunctions = new Map<string, string[]>();
  private readonly statusChanged = new vscode.EventEmitter<void>();

  constructor(private readonly devices: DeviceManager) {
    this.controller = vscode.notebooks.createNotebookController(NOTEBOOK_CONTROLLER_ID, 'jupyter-notebook', 'ESP32-P4 (P4-JIT)');
    this.controller.supportedLanguages = [...CELL_LANGUAGES];
    this.controller.description = 'C and assembly cells load onto the device; JavaScript and TypeScript cells drive it';
    this.controller.supportsExecutionOrder = true;
    this.controller.executeHandler = (cells, notebook) => this.execute(cells, notebook);
    this.controller.interruptHandler = (notebook) => this.interrupt(notebook);
    // a notebook saved with this kernel (the tutorials) opens with it already chosen
    const prefer = (nb: vscode.NotebookDocument) => {
      const kernelspec = (nb.metadata?.metadata as { kernelspec?: { name?: string } } | undefined)?.kernelspec;
      if (kernelspec?.name === KERNELSPEC_NAME) this.controller.updateNotebookAffinity(nb, vscode.NotebookControllerAffinity.Preferred);
    };
    vscode.workspace.notebookDocuments.forEach(prefer);
    this.subscriptions.push(
      this.controller,
      vscode.workspace.onDidOpenNotebookDocument(prefer),
      this.statusChanged,
      vscode.notebooks.registerNotebookCellStatusBarItemProvider('jupyter-notebook', {
        onDidChangeCellStatusBarItems: this.statusChanged.event,
        provideCellStatusBarItems: (cell) => this.disassemblyItem(cell),
      }),
      // closing a notebook frees what it loaded; its kernel is started again when it is next run
      vscode.workspace.onDidCloseNotebookDocument((nb) => void this.restart(nb.uri)),
    );
  }

  /** Frees what the notebook loaded and forgets its variables (as a Jupyter kernel restart). */
  async restart(uri: vscode.Uri): Promise<void> {
    const entry = this.kernels.get(uri.toString());
    this.kernels.delete(uri.toString());
    entry?.running?.abort();
    await (await entry?.kernel)?.dispose();
  }

  dispose(): void {
    for (const uri of [...this.kernels.keys()]) void this.restart(vscode.Uri.parse(uri));
    this.cellFunctions.clear();
    vscode.Disposable.from(...this.subscriptions).dispose();
  }

  private entry(notebook: vscode.NotebookDocument): KernelEntry {
    const key = notebook.uri.toString();
    let entry = this.kernels.get(key);
    if (!entry) {
      // loaded at the first notebook run (its parsers are not needed to edit C files)
      const kernel = import('../notebook/kernel.js').then(({ NotebookKernel: Kernel }) => new Kernel({
        baseDir: notebook.uri.scheme === 'file' ? dirname(notebook.uri.fsPath) : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd(),
        notebookId: key,
        device: () => this.sharedDevice(),
      }));
      entry = { kernel, queue: Promise.resolve() };
      this.kernels.set(key, entry);
    }
    return entry;
  }

  /** The extension's own connection, shared under its device lock. */
  private async sharedDevice(): Promise<Device> {
    const session = await this.devices.ensureSession();
    if (this.device?.session !== session) {
      const label = this.devices.emulated ? EMULATOR_LABEL : this.devices.port ?? 'the device';
      this.device = Device.attach(session, (work) => this.devices.exclusive(work), label);
    }
    return this.device;
  }

  private execute(cells: vscode.NotebookCell[], notebook: vscode.NotebookDocument): Promise<void> {
    const entry = this.entry(notebook);
    // queued behind earlier runs of this notebook: cells run one at a time, in the order asked
    const executions = cells.map((cell) => this.controller.createNotebookCellExecution(cell));
    const run = entry.queue.then(async () => {
      for (const [i, execution] of executions.entries()) {
        if (this.kernels.get(notebook.uri.toString()) !== entry) {
          execution.start(Date.now());
          execution.end(undefined, Date.now());
          continue;
        }
        const ok = await this.runCell(entry, cells[i], execution);
        // as in Jupyter, a failed cell stops the cells queued after it
        if (!ok) {
          for (const rest of executions.slice(i + 1)) {
            rest.start(Date.now());
            rest.end(undefined, Date.now());
          }
          break;
        }
      }
    });
    entry.queue = run.catch(() => undefined);
    return run;
  }

  private async runCell(entry: KernelEntry, cell: vscode.NotebookCell, execution: vscode.NotebookCellExecution): Promise<boolean> {
    const abort = new AbortController();
    entry.running = abort;
    execution.token.onCancellationRequested(() => abort.abort());
    execution.executionOrder = ++this.order;
    execution.start(Date.now());
    await execution.clearOutput();
    let stream: { kind: string; output: vscode.NotebookCellOutput } | undefined;
    if (this.cellFunctions.delete(cell.document.uri.toString())) this.statusChanged.fire();
    const emit = (out: CellOutput) => {
      if (out.kind === 'loaded') {
        this.cellFunctions.set(cell.document.uri.toString(), out.functions.map((f) => f.name));
        this.statusChanged.fire();
      }
      if (out.kind === 'stdout' || out.kind === 'stderr') {
        const item = out.kind === 'stdout' ? vscode.NotebookCellOutputItem.stdout(out.text) : vscode.NotebookCellOutputItem.stderr(out.text);
        // consecutive prints of one stream are one output, as in Jupyter
        if (stream?.kind === out.kind) void execution.appendOutputItems(item, stream.output);
        else {
          stream = { kind: out.kind, output: new vscode.NotebookCellOutput([item]) };
          void execution.appendOutput(stream.output);
        }
        return;
      }
      stream = undefined;
      void execution.appendOutput(toOutput(out));
    };
    const kernel = await entry.kernel;
    const ok = await kernel.run({ id: cellId(cell), label: String(cell.index + 1), source: cell.document.getText(), language: cell.document.languageId }, emit, abort.signal);
    entry.running = undefined;
    execution.end(ok, Date.now());
    return ok;
  }

  /** Under a C cell that loaded functions: a link to their disassembly. */
  private disassemblyItem(cell: vscode.NotebookCell): vscode.NotebookCellStatusBarItem[] {
    const names = this.cellFunctions.get(cell.document.uri.toString());
    if (!names?.length) return [];
    const item = new vscode.NotebookCellStatusBarItem('$(file-binary) Disassembly', vscode.NotebookCellStatusBarAlignment.Left);
    item.command = { title: 'Show Disassembly', command: 'p4jit.showDisassemblyOf', arguments: [names] };
    item.tooltip = `The RISC-V machine code of ${names.join(', ')}, with its source lines`;
    return [item];
  }

  private interrupt(notebook: vscode.NotebookDocument): void {
    this.kernels.get(notebook.uri.toString())?.running?.abort();
  }
}

interface KernelEntry {
  kernel: Promise<NotebookKernel>;
  /** The runs asked for so far, in order. */
  queue: Promise<unknown>;
  running?: AbortController;
}

/** A cell's identity that survives edits and reordering (the URI fragment VS Code gives each cell). */
function cellId(cell: vscode.NotebookCell): string {
  return cell.document.uri.fragment || String(cell.index);
}

function toOutput(out: Exclude<CellOutput, { kind: 'stdout' | 'stderr' }>): vscode.NotebookCellOutput {
  switch (out.kind) {
    case 'plot':
      return new vscode.NotebookCellOutput([
        vscode.NotebookCellOutputItem.json(out.spec, PLOT_MIME),
        vscode.NotebookCellOutputItem.text(plotSummary(out.spec), 'text/plain'),
      ]);
    case 'loaded':
      return new vscode.NotebookCellOutput([
        vscode.NotebookCellOutputItem.text(loadedMarkdown(out.functions), 'text/markdown'),
        vscode.NotebookCellOutputItem.text(out.functions.map((f) => `${f.signature} at 0x${f.address.toString(16)} (${f.size} bytes)`).join('\n'), 'text/plain'),
      ]);
    case 'value':
      return new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.text(out.text, 'text/plain')]);
    case 'error':
      return new vscode.NotebookCellOutput([vscode.NotebookCellOutputItem.error({ name: out.name, message: out.message, stack: out.stack })]);
  }
}

function loadedMarkdown(functions: LoadedEntry[]): string {
  const rows = functions.map((f) => `| \`${f.signature}\` | \`0x${f.address.toString(16)}\` | ${f.size} bytes |`);
  return ['Loaded onto the device (their machine code: **Disassembly** below the cell):', '', '| function | at | size |', '|---|---|---|', ...rows].join('\n');
}

function plotSummary(spec: PlotSpec): string {
  if (spec.kind === 'images') return `${spec.title ?? 'images'}: ${spec.images.length} images of ${spec.width}×${spec.height}`;
  return `${spec.title ?? `${spec.kind} plot`}: ${spec.series.map((s) => `${s.name} (${s.y.length} points)`).join(', ')}`;
}
