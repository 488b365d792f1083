/**
 * Serial port discovery: Espressif devices (USB VID 0x303A) first, then other USB serial ports.
 * Listing needs udev on Linux; where it fails the error says how to get it, and a port can still be
 * given by path.
 */
import { SerialPort } from 'serialport';
import { errorMessage, P4JitError } from '../util/errors.js';

export const ESPRESSIF_VID = '303a';

export interface PortEntry {
  path: string;
  espressif: boolean;
  description: string;
}

export class PortListError extends P4JitError {
  override name = 'PortListError';
}

export async function listPorts(): Promise<PortEntry[]> {
  let ports: Awaited<ReturnType<typeof SerialPort.list>>;
  try {
    ports = await SerialPort.list();
  } catch (e) {
    const msg = errorMessage(e);
    const hint = /udevadm/.test(msg) ? ' (udevadm is missing: sudo apt-get install udev, or give the port path)' : '';
    throw new PortListError(`cannot list serial ports: ${msg}${hint}`);
  }
  return ports
    .map((p) => ({
      path: p.path,
      espressif: (p.vendorId ?? '').toLowerCase() === ESPRESSIF_VID,
      description: [p.manufacturer, p.vendorId && p.productId ? `${p.vendorId}:${p.productId}` : '', p.serialNumber]
        .filter(Boolean).join(' | '),
    }))
    .sort((a, b) => Number(b.espressif) - Number(a.espressif) || a.path.localeCompare(b.path));
}

/** The first Espressif device, or undefined (also when listing fails: the caller falls back). */
export async function findBoard(): Promise<PortEntry | undefined> {
  try {
    return (await listPorts()).find((p) => p.espressif);
  } catch {
    return undefined;
  }
}
