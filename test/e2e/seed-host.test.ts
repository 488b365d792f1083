/**
 * A host written only from the seed document's tables (its own frame builder, none of our codec
 * or client) must keep working against our firmware: the seven original commands, byte-exact.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Emulator } from '../../extension/emulator/launcher.js';
import { SerialTransport } from '../../extension/device/transport.js';

// ---- the seed's tables, transcribed ----
const MAGIC = [0xa5, 0x5a];
const CMD = { PING: 0x01, ALLOC: 0x10, FREE: 0x11, WRITE_MEM: 0x20, READ_MEM: 0x21, EXEC: 0x30, HEAP_INFO: 0x40 };
const MALLOC_CAP_SPIRAM = 1 << 10;
const MALLOC_CAP_8BIT = 1 << 2;

function packet(cmd: number, payload: number[]): Buffer {
  const len = payload.length;
  const body = [...MAGIC, cmd, 0x00, len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, (len >>> 24) & 0xff, ...payload];
  const sum = body.reduce((s, b) => s + b, 0) & 0xffff;
  return Buffer.from([...body, sum & 0xff, sum >> 8]);
}
const le32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
const rd32 = (b: Buffer, o: number) => b.readUInt32LE(o);

class SeedHost {
  private rx = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  constructor(private readonly port: SerialTransport) {
    port.onData((d) => {
      this.rx = Buffer.concat([this.rx, d]);
      this.wake?.();
    });
  }
  /** Sends a request and reads one response exactly as the seed describes it. */
  async transact(cmd: number, payload: number[]): Promise<{ flags: number; payload: Buffer }> {
    await this.port.write(packet(cmd, payload));
    const deadline = Date.now() + 5000;
    for (;;) {
      const start = this.rx.indexOf(Buffer.from(MAGIC));
      if (start >= 0 && this.rx.length - start >= 8) {
        const len = rd32(this.rx, start + 4);
        if (this.rx.length - start >= 10 + len) {
          const frame = this.rx.subarray(start, start + 10 + len);
          this.rx = this.rx.subarray(start + 10 + len);
          const sum = [...frame.subarray(0, 8 + len)].reduce((s, b) => s + b, 0) & 0xffff;
          assert.equal(frame.readUInt16LE(8 + len), sum, 'response checksum');
          assert.equal(frame[2], cmd, 'response echoes the command');
          return { flags: frame[3], payload: Buffer.from(frame.subarray(8, 8 + len)) };
        }
      }
      if (Date.now() > deadline) throw new Error(`no response to command 0x${cmd.toString(16)}`);
      await new Promise<void>((r) => { this.wake = r; setTimeout(r, 50); });
    }
  }
}

let emu: Emulator;
let port: SerialTransport;
let host: SeedHost;

before(async () => {
  emu = await Emulator.start();
  port = await SerialTransport.open(emu.port);
  host = new SeedHost(port);
});

after(async () => {
  await port?.close();
  await emu?.stop();
});

test('seed host: PING, HEAP_INFO, ALLOC, WRITE_MEM, READ_MEM, EXEC, FREE', async () => {
  const ping = await host.transact(CMD.PING, [0xca, 0xfe, 0xba, 0xbe]);
  assert.equal(ping.flags, 0x01);
  assert.equal(ping.payload.toString('hex'), 'cafebabe');

  const heap0 = await host.transact(CMD.HEAP_INFO, []);
  assert.equal(heap0.payload.length, 16);

  // the seed's way to allocate code: SPIRAM | 8BIT, alignment 16
  const alloc = await host.transact(CMD.ALLOC, [...le32(64), ...le32(MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT), ...le32(16)]);
  assert.equal(alloc.flags, 0x01);
  const address = rd32(alloc.payload, 0);
  assert.equal(rd32(alloc.payload, 4), 0, 'error field 0');
  assert.notEqual(address, 0);

  // li a0, 1234 ; ret
  const code = [...le32(0x4d200513), ...le32(0x00008067)];
  const write = await host.transact(CMD.WRITE_MEM, [...le32(address), ...code]);
  assert.deepEqual([rd32(write.payload, 0), rd32(write.payload, 4)], [8, 0], 'bytes_written, status');

  const read = await host.transact(CMD.READ_MEM, [...le32(address), ...le32(8)]);
  assert.deepEqual([...read.payload], code);

  const exec = await host.transact(CMD.EXEC, le32(address));
  assert.equal(exec.flags, 0x01);
  assert.equal(exec.payload.readInt32LE(0), 1234);

  const free = await host.transact(CMD.FREE, le32(address));
  assert.equal(rd32(free.payload, 0), 0, 'status');

  const heap1 = await host.transact(CMD.HEAP_INFO, []);
  assert.deepEqual(heap1.payload, heap0.payload, 'heap back to where it was');
});

test('seed host: an allocation that cannot be satisfied reports error 3 in the ALLOC reply', async () => {
  const alloc = await host.transact(CMD.ALLOC, [...le32(0x7fffffff), ...le32(MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT), ...le32(16)]);
  assert.equal(alloc.flags, 0x01);
  assert.deepEqual([rd32(alloc.payload, 0), rd32(alloc.payload, 4)], [0, 3]);
});
