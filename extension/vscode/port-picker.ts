/**
 * The port QuickPick: Espressif devices (USB VID 303A) first, then other serial ports, then the
 * emulated ESP32-P4 and "auto". The choice is stored in p4jit.port.
 */
import * as vscode from 'vscode';

import { listPorts, type PortEntry } from '../device/ports.js';
import { readConfig } from './config.js';
import { EMULATOR_LABEL } from './device-manager.js';

interface PortItem extends vscode.QuickPickItem {
  port?: string;
}

export const AUTO_LABEL = 'Auto';
export const ALWAYS_EMULATOR = 'always-emulator';
export const ALWAYS_EMULATOR_LABEL = 'Always Use the Emulator';
export const CUSTOM_LABEL = 'Enter a Port Path…';

/** Asks for a port; resolves to 'auto' | 'emulator' | a path, or undefined when dismissed. */
export async function pickPort(): Promise<string | undefined> {
  const current = readConfig().port;
  const pick = vscode.window.createQuickPick<PortItem>();
  pick.title = 'P4-JIT: Select the ESP32-P4';
  pick.placeholder = 'Espressif boards are listed first';
  pick.busy = true;
  pick.items = fixedItems(current);
  pick.show();

  const { ports, listError } = await listPortsOrReason();
  pick.items = [...portItems(ports, current, listError), ...fixedItems(current)];
  pick.activeItems = pick.items.filter((i) => i.port === current).slice(0, 1);
  pick.busy = false;

  const chosen = await new Promise<PortItem | undefined>((resolve) => {
    pick.onDidAccept(() => resolve(pick.selectedItems[0]));
    pick.onDidHide(() => resolve(undefined));
  });
  pick.dispose();
  if (!chosen) return undefined;
  if (chosen.label === CUSTOM_LABEL) {
    return vscode.window.showInputBox({
      title: 'P4-JIT: Serial port',
      prompt: 'Path of the serial port, e.g. /dev/ttyACM0 or COM5',
      value: current !== 'auto' && current !== 'emulator' ? current : '',
      validateInput: (v) => (v.trim() ? undefined : 'Enter a port path'),
    }).then((v) => v?.trim());
  }
  return chosen.port;
}

function portItems(ports: PortEntry[], current: string, error: string | undefined): PortItem[] {
  const items: PortItem[] = [];
  const espressif = ports.filter((p) => p.espressif);
  const others = ports.filter((p) => !p.espressif);
  const item = (p: PortEntry): PortItem => ({
    label: `$(plug) ${p.path}`,
    description: [p.description, p.path === current ? '(selected)' : ''].filter(Boolean).join(' '),
    port: p.path,
  });
  if (espressif.length) items.push({ label: 'Espressif devices', kind: vscode.QuickPickItemKind.Separator }, ...espressif.map(item));
  if (others.length) items.push({ label: 'Other serial ports', kind: vscode.QuickPickItemKind.Separator }, ...others.map(item));
  if (error) items.push({ label: '$(warning) Serial ports cannot be listed', detail: error });
  else if (!ports.length) items.push({ label: '$(info) No serial ports found', description: 'connect the board over USB, or use the emulator' });
  return items;
}

function fixedItems(current: string): PortItem[] {
  const mark = (port: string) => (port === current ? '(selected)' : undefined);
  return [
    { label: '', kind: vscode.QuickPickItemKind.Separator },
    { label: `$(vm) ${EMULATOR_LABEL}`, description: mark('emulator') ?? 'QEMU, no board needed', port: 'emulator' },
    { label: `$(search) ${AUTO_LABEL}`, description: mark('auto') ?? 'the first Espressif board, else offer the emulator', port: 'auto' },
    { label: CUSTOM_LABEL },
  ];
}

/**
 * No board was found: asks where to run, before anything else of the run. Resolves to 'emulator',
 * ALWAYS_EMULATOR (the caller stores p4jit.port), a port path, or undefined when dismissed.
 */
export async function askWhereToRun(): Promise<string | undefined> {
  const { ports, listError } = await listPortsOrReason();
  const items: PortItem[] = [
    { label: `$(vm) ${EMULATOR_LABEL}`, description: 'QEMU on this machine, no board needed', port: 'emulator' },
    { label: `$(pin) ${ALWAYS_EMULATOR_LABEL}`, description: 'for this workspace: sets p4jit.port to "emulator"', port: ALWAYS_EMULATOR },
    // only what can be chosen: a hint row would end the run when picked
    ...portItems(ports, '', listError).filter((i) => i.port || i.kind === vscode.QuickPickItemKind.Separator),
  ];
  const chosen = await vscode.window.showQuickPick(items, {
    title: 'P4-JIT: No ESP32-P4 board found. Where should it run?',
    placeHolder: 'The emulated ESP32-P4, or a serial port',
    ignoreFocusOut: true,
  });
  return chosen?.port;
}

/** The serial ports, or why they could not be listed (shown as a hint row instead of failing the pick). */
async function listPortsOrReason(): Promise<{ ports: PortEntry[]; listError?: string }> {
  try {
    return { ports: await listPorts() };
  } catch (e) {
    return { ports: [], listError: (e as Error).message };
  }
}
