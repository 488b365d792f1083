/**
 * The serial binding P4-JIT opens ports with: the native one of @serialport/bindings-cpp, with two
 * of its behaviours on Linux and macOS (where it polls a file descriptor) corrected on every port
 * it opens.
 *
 * - End of file is a disconnect. When the other end of a port goes (QEMU exits and closes its
 *   pty; a USB CDC device goes away) while a read is in flight, read() returns 0 bytes, and
 *   bindings-cpp 13 reads again at once, forever (serialport/bindings-cpp issue 162, still open):
 *   a core busy and memory growing until it runs out, and no disconnect. Ports are opened with
 *   VMIN 1 (the binding's default), so a read of a terminal returns 0 only at a hang-up: here it ends the port, which the
 *   stream reports as a disconnect like any read error.
 * - A pending "writable" stays armed (see keepPollerArmed).
 */
import { read } from 'node:fs';
import { promisify } from 'node:util';

import { SerialPort } from 'serialport';
import { P4JitError } from '../util/errors.js';

type Binding = typeof SerialPort.binding;
type OpenOptions = Parameters<Binding['open']>[0];
type ReadResult = { buffer: Buffer; bytesRead: number };

/** What a port of the Linux and macOS bindings has: a file descriptor and its poller. */
interface PolledPort {
  fd: number | null;
  readonly isOpen: boolean;
  poller: Poller;
  read(buffer: Buffer, offset: number, length: number): Promise<ReadResult>;
}

interface Poller {
  poll(flag?: number): void;
  on(event: string, fn: (err?: Error | null) => void): void;
  once(event: 'readable', fn: (err?: Error | null) => void): void;
}

const readFd = promisify(read);

export class EndOfFileError extends P4JitError {
  override name = 'EndOfFileError';
}

/** The stream ignores errors marked canceled: the port was closed on purpose. */
const canceled = () => Object.assign(new P4JitError('the port is closed'), { canceled: true });

/** The detected native binding, its ports corrected as described above. */
export const serialBinding = {
  list: () => SerialPort.binding.list(),
  async open(options: OpenOptions) {
    // the detected binding is one of three whose option types differ; these are its own options
    const port = await (SerialPort.binding as { open(o: OpenOptions): Promise<unknown> }).open(options);
    if (isPolled(port)) {
      keepPollerArmed(port.poller);
      port.read = (buffer, offset, length) => readUntilData(port, buffer, offset, length);
    }
    return port;
  },
} as Binding;

function isPolled(port: unknown): port is PolledPort {
  const p = port as Partial<PolledPort>;
  return typeof p.fd === 'number' && typeof p.poller?.once === 'function';
}

/**
 * One read: the bytes there are, waiting in poll() while there are none. Zero bytes is the end of
 * the file, and any error ends the port too, except EAGAIN (nothing yet) and EINTR.
 */
async function readUntilData(port: PolledPort, buffer: Buffer, offset: number, length: number): Promise<ReadResult> {
  for (;;) {
    if (!port.isOpen || port.fd === null) throw canceled();
    let bytesRead: number;
    try {
      ({ bytesRead } = await readFd(port.fd, buffer, offset, length, null));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw e;
      if (!port.isOpen) throw canceled();
      await new Promise<void>((resolve, reject) => port.poller.once('readable', (err) => (err ? reject(err) : resolve())));
      continue;
    }
    if (bytesRead === 0) throw new EndOfFileError('end of file: the other end closed the port');
    return { buffer, bytesRead };
  }
}

/**
 * bindings-cpp 13 re-arms its poll with only the newest event kind, so a pending "writable" is
 * forgotten as soon as the reader asks for "readable" again, and a large write to a busy device
 * never finishes. Keep every requested kind armed until it fires.
 */
function keepPollerArmed(poller: Poller): void {
  let armed = 0;
  const nativePoll = poller.poll.bind(poller);
  poller.poll = (flag = 0) => {
    armed |= flag;
    nativePoll(armed);
  };
  poller.on('readable', () => { armed &= ~1; });
  poller.on('writable', () => { armed &= ~2; });
  poller.on('disconnect', () => { armed &= ~4; });
}
