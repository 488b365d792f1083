/**
 * Byte transports to a device. The serial one serves a board's USB CDC port and the emulator's pty
 * alike; tests can put a fault-injecting transport in between.
 */
import { SerialPort } from 'serialport';

import { DisconnectedError } from './errors.js';
import { serialBinding } from './serial-binding.js';

export interface Transport {
  write(data: Buffer): Promise<void>;
  onData(fn: (chunk: Buffer) => void): void;
  /** Called once when the link goes away; err is set when it broke rather than being closed. */
  onClose(fn: (err?: Error) => void): void;
  close(): Promise<void>;
  readonly description: string;
}

export class SerialTransport implements Transport {
  private closed = false;
  private closeHandlers: ((err?: Error) => void)[] = [];

  private constructor(private readonly port: SerialPort) {
    port.on('close', (err?: Error) => this.finish(err ?? undefined));
    port.on('error', (err: Error) => this.finish(err));
  }

  get description(): string {
    return this.port.path;
  }

  static async open(path: string): Promise<SerialTransport> {
    const port = new SerialPort(serialOptions(path));
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(new DisconnectedError(`cannot open ${path}: ${err.message}`)) : resolve())),
    );
    return new SerialTransport(port);
  }

  write(data: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new DisconnectedError(`${this.port.path} is closed`));
    return new Promise((resolve, reject) => {
      this.port.write(data, (err) => {
        if (err) return reject(this.lost(err, ' while writing'));
        // wait for the OS to take the bytes: back-pressure instead of an unbounded queue
        this.port.drain((e) => (e ? reject(this.lost(e, ' while writing')) : resolve()));
      });
    });
  }

  onData(fn: (chunk: Buffer) => void): void {
    this.port.on('data', fn);
  }

  onClose(fn: (err?: Error) => void): void {
    this.closeHandlers.push(fn);
  }

  async close(): Promise<void> {
    if (this.closed || !this.port.isOpen) {
      this.finish();
      return;
    }
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
    this.finish();
  }

  /**
   * When the other end goes (a board unplugged or reset, QEMU gone), the port's poller fails with
   * EBADF, a read in flight meets the end of the file (serial-binding.ts) and a write fails with
   * EIO; the port closes. Each becomes one DisconnectedError that says what it means.
   */
  private lost(err: Error, doing = ''): DisconnectedError {
    return new DisconnectedError(`lost ${this.port.path}${doing} (${err.message}): the device was unplugged or reset, or the emulator stopped`);
  }

  private finish(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    const e = err ? this.lost(err) : undefined;
    for (const fn of this.closeHandlers) fn(e);
  }
}

/**
 * SerialPort takes a binding in its options like its base SerialPortStream (it spreads them over
 * the detected one), though its type leaves the field out.
 */
function serialOptions(path: string): ConstructorParameters<typeof SerialPort>[0] & { binding: typeof SerialPort.binding } {
  // The baud rate means nothing to USB CDC or a pty, but the binding requires one.
  return { path, baudRate: 115200, autoOpen: false, hupcl: false, binding: serialBinding };
}
