/**
 * Where a command, a script or the editor runs when the user named no device: the one rule they
 * share. A named port or the emulator is taken as asked; otherwise a plugged-in board, else an
 * emulator already running for this user, else the user's answer (VS Code asks), else a new emulator.
 */
import { findBoard as findPluggedBoard } from '../device/ports.js';

export type DeviceTarget = { kind: 'port'; port: string } | { kind: 'emulator' };

export interface DeviceWish {
  /** A serial port, 'emulator', or 'auto' / undefined for the rule above. */
  port?: string;
  /** The emulator unless a port is named (the CLI's --emulator). */
  emulator?: boolean;
  /** An emulator of ours is running (VS Code keeps one between connections): it goes before asking. */
  emulatorRunning?: boolean;
  /** Asked when no board is plugged in; undefined means the user cancelled. Without it: the emulator. */
  ask?: () => Promise<DeviceTarget | undefined>;
  /** How boards are found (the serial port list by default). */
  findBoard?: () => Promise<{ path: string } | undefined>;
}

/** The device to open, or undefined when the user was asked and cancelled. */
export async function chooseDevice(wish: DeviceWish): Promise<DeviceTarget | undefined> {
  if (wish.port && wish.port !== 'auto' && wish.port !== 'emulator') return { kind: 'port', port: wish.port };
  if (wish.emulator || wish.port === 'emulator') return { kind: 'emulator' };
  const board = await (wish.findBoard ?? findPluggedBoard)();
  if (board) return { kind: 'port', port: board.path };
  if (wish.emulatorRunning) return { kind: 'emulator' };
  return wish.ask ? wish.ask() : { kind: 'emulator' };
}
