/**
 * What the last p4jit command left on each device: its boot id and how many allocations it held.
 * Each command is its own connection, so only this tells the next one that the device restarted
 * in between and took those allocations with it. Kept per user ($XDG_STATE_HOME/p4jit, else
 * ~/.local/state/p4jit), private (0700 folder, 0600 file), replaced atomically.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface DeviceMemory {
  bootId: number;
  allocations: number;
  /**
   * For an emulated device: when its pty was created. Emulators reuse pty paths, so the path
   * alone would take a new emulator for the old one restarted.
   */
  pty?: number;
}

function stateFile(): string {
  const root = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return join(root, 'p4jit', 'devices.json');
}

function readAll(): Record<string, DeviceMemory> {
  try {
    const data = JSON.parse(readFileSync(stateFile(), 'utf8'));
    return data && typeof data === 'object' ? data : {};
  } catch {
    return {}; // none yet, or unreadable: nothing is remembered
  }
}

export function recall(port: string, pty?: number): DeviceMemory | undefined {
  const m = readAll()[port];
  return m && Number.isInteger(m.bootId) && Number.isInteger(m.allocations) && m.pty === pty ? m : undefined;
}

/** The pty's creation time for an emulated device's port (undefined for a board, or when unknown). */
export function ptyStamp(port: string, emulated: boolean): number | undefined {
  try {
    return emulated ? statSync(port).ctimeMs : undefined;
  } catch {
    return undefined;
  }
}

/** Best effort: a state folder that cannot be written only costs the next command's warning. */
export function remember(port: string, memory: DeviceMemory): void {
  try {
    const file = stateFile();
    const dir = join(file, '..');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const all = readAll();
    all[port] = memory;
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(all), { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
  } catch {
    // see above
  }
}
