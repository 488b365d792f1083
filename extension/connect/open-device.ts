/** How a command or a script gets a device: a port, the emulator, or (neither) a board if one is found, else the emulator. */
import { DeviceClient } from '../device/client.js';
import { DeviceUnresponsiveError, resetReasonName } from '../device/errors.js';
import { ptyStamp, recall, remember } from './device-memory.js';
import { chooseDevice } from './choose-device.js';
import { Emulator } from '../emulator/launcher.js';
import { DeviceCap } from '../protocol/constants.js';
import { authenticateIfRequired, promptSecret, SecretError } from './secret.js';

export interface DeviceFlags {
  port?: string;
  emulator?: boolean;
  icount?: boolean;
  /** Start the emulator with its gdb stub on this port. */
  gdbPort?: number;
  /** From P4JIT_SECRET, --secret-file or --secret (see secret.ts); an emulator started here gets it too. */
  secret?: string;
  /** The command works without authentication (PING, INFO): no secret is asked for. */
  authOptional?: boolean;
  timeoutMs?: number;
}

export interface DeviceHandle {
  client: DeviceClient;
  /** The emulator started for this command, if any. */
  emulator?: Emulator;
  port: string;
  label: string;
  /** The device stopped answering during this command: ask it nothing more. */
  hung: boolean;
}

/** The device's boot id differs from the one the last command left holding allocations: say so. */
function warnIfRestarted(client: DeviceClient, port: string): void {
  const last = recall(port, ptyStamp(port, client.has(DeviceCap.Emulator)));
  const now = client.info?.bootId;
  if (!last || now === null || now === undefined || now === last.bootId || last.allocations === 0) return;
  const n = last.allocations;
  console.error(`p4jit: the device on ${port} restarted since the last command (${resetReasonName(client.info!.resetReason)}): ` +
    `the ${n} allocation${n === 1 ? '' : 's'} it held ${n === 1 ? 'is' : 'are'} gone`);
}

export async function openDevice(flags: DeviceFlags): Promise<DeviceHandle> {
  const target = (await chooseDevice({ port: flags.port, emulator: flags.emulator }))!; // (nothing is asked here)
  let port = target.kind === 'port' ? target.port : undefined;
  let emulator: Emulator | undefined;
  if (!port) {
    emulator = await Emulator.start({ icount: flags.icount, secret: flags.secret, gdbPort: flags.gdbPort });
    port = emulator.port;
  }
  let client: DeviceClient | undefined;
  try {
    client = await DeviceClient.open(port, { timeoutMs: flags.timeoutMs });
    const authenticated = await authenticateIfRequired(client, async () => flags.secret ?? (flags.authOptional ? undefined : (await promptSecret(port!))?.value));
    if (!authenticated && !flags.authOptional) throw new SecretError('the device requires authentication: set P4JIT_SECRET or pass --secret-file FILE');
    if (!emulator) warnIfRestarted(client, port);
    const h: DeviceHandle = { client, emulator, port, label: emulator ? `emulated ESP32-P4 (${port})` : port, hung: false };
    client.on('unresponsive', () => { h.hung = true; });
    return h;
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
  // what this command leaves on a device that outlives it, for the next command to compare
  const bootId = h.client.info?.bootId;
  if (!h.emulator && !h.hung && bootId && h.client.connected && h.client.has(DeviceCap.ListAllocs)) {
    const list = await h.client.listAllocs().catch(() => null);
    const pty = ptyStamp(h.port, h.client.has(DeviceCap.Emulator));
    if (list) remember(h.port, { bootId: h.client.info!.bootId!, allocations: list.length, pty });
  }
  await h.client.close().catch(() => undefined);
  await h.emulator?.stop();
}
