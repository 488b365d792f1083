/** How the CLI gets a device: --port PATH, --emulator, or (neither) a board if one is found, else the emulator. */
import { DeviceClient } from '../device/client.js';
import { DeviceUnresponsiveError } from '../device/errors.js';
import { findBoard } from '../device/ports.js';
import { Emulator } from '../emulator/launcher.js';
import { DeviceCap } from '../protocol/constants.js';

export interface DeviceFlags {
  port?: string;
  emulator?: boolean;
  icount?: boolean;
  /** Start the emulator with its gdb stub on this port. */
  gdbPort?: number;
  secret?: string;
  timeoutMs?: number;
}

export interface DeviceHandle {
  client: DeviceClient;
  /** The emulator started for this command, if any. */
  emulator?: Emulator;
  label: string;
}

export async function openDevice(flags: DeviceFlags): Promise<DeviceHandle> {
  let port = flags.port;
  if (!port && !flags.emulator) port = (await findBoard())?.path;
  let emulator: Emulator | undefined;
  if (!port) {
    emulator = await Emulator.start({ icount: flags.icount, secret: flags.secret, gdbPort: flags.gdbPort });
    port = emulator.port;
  }
  let client: DeviceClient | undefined;
  try {
    client = await DeviceClient.open(port, { timeoutMs: flags.timeoutMs });
    const secret = flags.secret ?? process.env.P4JIT_SECRET;
    if (client.has(DeviceCap.AuthRequired) && !client.has(DeviceCap.Authenticated)) {
      if (!secret) throw new Error('the device requires authentication: pass --secret or set P4JIT_SECRET');
      await client.authenticate(secret);
    }
    return { client, emulator, label: emulator ? `emulated ESP32-P4 (${port})` : port };
  } catch (e) {
    await client?.close(); // an open port would keep the process alive after the error
    await emulator?.stop();
    throw e;
  }
}

/** A device error as this command's user should read it: an emulator of our own needs no restart by hand. */
export function explainForCommand(e: unknown, h: DeviceHandle): unknown {
  if (e instanceof DeviceUnresponsiveError && h.emulator) {
    e.message = e.message.replace(/restart the emulated ESP32-P4$/, 'the emulated ESP32-P4 started for this command is stopped with it');
  }
  return e;
}

export async function closeDevice(h: DeviceHandle): Promise<void> {
  await h.client.close().catch(() => undefined);
  await h.emulator?.stop();
}
