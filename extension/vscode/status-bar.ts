/** The connection in the status bar: what P4-JIT talks to, and one click to choose another port. */
import * as vscode from 'vscode';

import { EMULATOR_LABEL, type DeviceManager } from './device-manager.js';

export class DeviceStatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('p4jit.device', vscode.StatusBarAlignment.Left, 50);
  private readonly subscription: vscode.Disposable;

  constructor(private readonly device: DeviceManager) {
    this.item.name = 'P4-JIT Device';
    this.item.command = 'p4jit.selectPort';
    this.subscription = device.onDidChange(() => this.render());
    this.render();
    this.item.show();
  }

  get text(): string {
    return this.item.text;
  }

  get tooltip(): string {
    return typeof this.item.tooltip === 'string' ? this.item.tooltip : this.item.tooltip?.value ?? '';
  }

  private render(): void {
    const d = this.device;
    const where = d.emulated ? EMULATOR_LABEL : d.port ?? 'no port';
    switch (d.state) {
      case 'connected':
        this.item.text = d.emulated ? `$(vm) ${EMULATOR_LABEL}` : `$(plug) ${d.port}`;
        this.item.tooltip = `P4-JIT: connected to ${where}${d.info ? ` (${d.info.board}, protocol ${d.info.protocolVersion})` : ''}. Click to choose a port.`;
        this.item.backgroundColor = undefined;
        break;
      case 'connecting':
        this.item.text = `$(loading~spin) ${d.emulated ? EMULATOR_LABEL : d.port ?? 'P4-JIT'}`;
        this.item.tooltip = `P4-JIT: connecting to ${where}…`;
        this.item.backgroundColor = undefined;
        break;
      default:
        this.item.text = '$(debug-disconnect) P4-JIT';
        this.item.tooltip = d.lastError
          ? `P4-JIT: not connected (${d.lastError}). Click to choose a port.`
          : 'P4-JIT: not connected. Click to choose a port.';
        // A device lost while functions were loaded deserves attention; a plain idle state does not.
        this.item.backgroundColor = d.lastError ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    }
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
