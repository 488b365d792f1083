/**
 * A host written only from the seed document's tables (its own frame builder, none of our codec
 * or client) must keep working against our firmware: the seven original commands, byte-exact.
 * It reads as the original host does: the first frame after a request is the reply, and an
 * error reply's payload is one u32 code. So code that prints or faults under EXEC must not
 * change what it sees; the text goes to the device's console, the fault's detail is there on
 * request (LAST_FAULT). On a board (npm run test:board) the console is the board's UART, out of
 * reach here: there the host's next reply proves that nothing else came on the port.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { DeviceClient } from '../../extension/device/client.js';
import { SerialTransport } from '../../extension/device/transport.js';
import { compileObject, ENTRY_SYMBOL, linkAt, PLACEHOLDER_BASE, type BuildOptions } from '../../toolchain/build.js';
import { discoverToolchain } from '../../toolchain/discover.js';
import { findSymbol } from '../../toolchain/elf.js';
import { loadCode } from '../../extension/session/loader.js';
import { BOARD_CANNOT_STOP_CODE, emulatorOnly, FAULT_RESETS_A_BOARD, needsFirmwareElf, startDevice, type DeviceUnderTest } from '../helpers/device.js';
import { scratchDir } from '../helpers/paths.js';

// ---- the seed's tables, transcribed ----
const MAGIC = [0xa5, 0x5a];
const CMD = { PING: 0x01, ALLOC: 0x10, FREE: 0x11, WRITE_MEM: 0x20, READ_MEM: 0x21, EXEC: 0x30, HEAP_INFO: 0x40 };
const MALLOC_CAP_SPIRAM = 1 << 10;
const MALLOC_CAP_8BIT = 1 << 2;
// the one extension this host uses, from docs/protocol.md: the detail of the last failed call
const LAST_FAULT = 0x32;

function packet(cmd: number, payload: number[]): Buffer {
  const len = payload.length;
  const body = [...MAGIC, cmd, 0x00, len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, (len >>> 24) & 0xff, ...payload];
  const sum = body.reduce((s, b) => s + b, 0) & 0xffff;
  return Buffer.from([...body, sum & 0xff, sum >> 8]);
}
const le32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
const rd32 = (b: Buffer, o: number) => b.readUInt32LE(o);
const hex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

class SeedHost {
  private rx = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private constructor(private readonly port: SerialTransport) {
    port.onData((d) => {
      this.rx = Buffer.concat([this.rx, d]);
      this.wake?.();
    });
  }

  static async open(path: string): Promise<SeedHost> {
    return new SeedHost(await SerialTransport.open(path));
  }

  close(): Promise<void> {
    return this.port.close();
  }

  /** Exactly n bytes, as a blocking serial read of the original host takes them. */
  private async read(n: number, what: string, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.rx.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: ${this.rx.length} of ${n} bytes within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake = () => { clearTimeout(t); r(); };
      });
    }
    const out = this.rx.subarray(0, n);
    this.rx = this.rx.subarray(n);
    return Buffer.from(out);
  }

  /** Sends raw bytes and returns the next n bytes the device sends. */
  async exchangeRaw(request: Buffer, n: number): Promise<Buffer> {
    assert.equal(hex(this.rx), '', 'bytes the device sent unasked');
    await this.port.write(request);
    return this.read(n, 'raw exchange');
  }

  /** Sends a request and reads one response exactly as the seed describes it. */
  async transact(cmd: number, payload: number[]): Promise<{ flags: number; payload: Buffer }> {
    assert.equal(hex(this.rx), '', 'bytes the device sent unasked');
    await this.port.write(packet(cmd, payload));
    const header = await this.read(8, `response header to 0x${cmd.toString(16)}`);
    assert.deepEqual([header[0], header[1]], MAGIC, `the response starts with the magic: ${hex(header)}`);
    assert.equal(header[2], cmd, `the response echoes the command: ${hex(header)}`);
    const len = rd32(header, 4);
    const rest = await this.read(len + 2, 'response payload');
    const sum = [...header, ...rest.subarray(0, len)].reduce((s, b) => s + b, 0) & 0xffff;
    assert.equal(rest.readUInt16LE(len), sum, 'response checksum');
    assert.ok(header[3] === 0x01 || header[3] === 0x02, `flags ${header[3]}`);
    if (header[3] === 0x02) assert.equal(len, 4, `an error response is one u32 code: ${hex(rest)}`);
    return { flags: header[3], payload: rest.subarray(0, len) };
  }

  /** Compiles int __p4jit_entry(void), allocates, links at the address and uploads it. */
  async load(source: string, build: BuildOptions, name: string): Promise<{ address: number; entry: number }> {
    const file = join(build.buildDir, `${name}.c`);
    writeFileSync(file, source);
    const obj = await compileObject(file, build);
    const size = (await linkAt([obj], PLACEHOLDER_BASE, `${name}.sizing`, build)).image.length;
    const alloc = await this.transact(CMD.ALLOC, [...le32(size), ...le32(MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT), ...le32(16)]);
    assert.equal(rd32(alloc.payload, 4), 0, 'ALLOC error field');
    const address = rd32(alloc.payload, 0);
    const link = await linkAt([obj], address, name, build);
    const write = await this.transact(CMD.WRITE_MEM, [...le32(address), ...link.image]);
    assert.deepEqual([rd32(write.payload, 0), rd32(write.payload, 4)], [link.image.length, 0]);
    return { address, entry: findSymbol(link.elf, ENTRY_SYMBOL)!.value };
  }
}

let emu: DeviceUnderTest;
let host: SeedHost;
let build: BuildOptions;

before(async () => {
  // host-clock time: a seed host waits a few seconds for a runaway EXEC's TIMEOUT, and under -icount its
  // 2 s limit counts emulated time, which a tight loop takes far longer than 2 s of wall time to reach
  emu = await startDevice({ icount: false });
  host = await SeedHost.open(emu.port);
  build = { toolchain: discoverToolchain(), buildDir: scratchDir('seed-host'), firmwareElf: emu.image };
});

after(async () => {
  await host?.close();
  await emu?.stop();
});

/** Resolves once the emulator's console has shown text (it arrives on QEMU's stdout); a board's is not here. */
function consoleShows(text: string, timeoutMs = 5000): Promise<void> {
  const emulator = emu.emulator;
  if (!emulator) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!emulator.console.includes(text)) return;
      stop();
      clearTimeout(t);
      resolve();
    };
    const stop = emulator.onConsole(check);
    const t = setTimeout(() => { stop(); reject(new Error(`console never showed ${JSON.stringify(text)}: ${JSON.stringify(emulator.console)}`)); }, timeoutMs);
    check();
  });
}

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
  // refusals are one code too
  const again = await host.transact(CMD.FREE, le32(address));
  assert.deepEqual([again.flags, rd32(again.payload, 0)], [0x02, 4]);
  const outside = await host.transact(CMD.READ_MEM, [...le32(address), ...le32(8)]);
  assert.deepEqual([outside.flags, rd32(outside.payload, 0)], [0x02, 4]);

  const heap1 = await host.transact(CMD.HEAP_INFO, []);
  assert.deepEqual(heap1.payload, heap0.payload, 'heap back to where it was');
});

test('seed host: an allocation that cannot be satisfied reports error 3 in the ALLOC reply', async () => {
  const alloc = await host.transact(CMD.ALLOC, [...le32(0x7fffffff), ...le32(MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT), ...le32(16)]);
  assert.equal(alloc.flags, 0x01);
  assert.deepEqual([rd32(alloc.payload, 0), rd32(alloc.payload, 4)], [0, 3]);
});

test('seed host: the example frames, byte for byte', async () => {
  const ping = await host.exchangeRaw(Buffer.from('a55a010004000000cafebabe4404', 'hex'), 14);
  assert.equal(hex(ping), 'a5 5a 01 01 04 00 00 00 ca fe ba be 45 04');
  const alloc = await host.exchangeRaw(packet(CMD.ALLOC, [...le32(0x7fffffff), ...le32(MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT), ...le32(16)]), 18);
  assert.equal(hex(alloc), 'a5 5a 10 01 08 00 00 00 00 00 00 00 03 00 00 00 1b 01');
});

test('seed host: a function that prints, run with EXEC: only its reply; the text goes to the console', needsFirmwareElf(), async () => {
  const f = await host.load('#include <stdio.h>\nint __p4jit_entry(void) { printf("seed says %d\\n", 6 * 7); return 42; }\n', build, 'printer');
  const exec = await host.transact(CMD.EXEC, le32(f.entry));
  assert.deepEqual([exec.flags, exec.payload.readInt32LE(0)], [0x01, 42]);
  await consoleShows('seed says 42\n');
  assert.equal(rd32((await host.transact(CMD.FREE, le32(f.address))).payload, 0), 0); // the next frame is FREE's reply
});

test('seed host: a function that faults or runs too long: error 8 or 9 as one code; the detail on request',
  emulatorOnly(`${FAULT_RESETS_A_BOARD}, and ${BOARD_CANNOT_STOP_CODE}`), async () => {
    const f = await host.load('#include <stdint.h>\nint __p4jit_entry(void) { return *(volatile int *)(uintptr_t)0xF0000000u; }\n', build, 'faulter');
    const exec = await host.transact(CMD.EXEC, le32(f.entry));
    assert.deepEqual([exec.flags, rd32(exec.payload, 0)], [0x02, 8]);
    const detail = await host.transact(LAST_FAULT, []);
    assert.equal(detail.flags, 0x01);
    const [code, entry, mcause, mepc, mtval] = [0, 4, 8, 12, 16].map((o) => rd32(detail.payload, o));
    assert.deepEqual([code, entry, mcause, mtval], [8, f.entry, 5, 0xf0000000]);
    assert.ok(mepc >= f.address && mepc < f.address + 256, `mepc 0x${mepc.toString(16)} in the function`);

    const s = await host.load('int __p4jit_entry(void) { for (;;) { __asm__ volatile(""); } }\n', build, 'spinner');
    const spin = await host.transact(CMD.EXEC, le32(s.entry)); // the default time limit, 2 s
    assert.deepEqual([spin.flags, rd32(spin.payload, 0)], [0x02, 9]);
    const late = await host.transact(LAST_FAULT, []);
    assert.deepEqual([rd32(late.payload, 0), rd32(late.payload, 4)], [9, s.entry]);
    for (const a of [f.address, s.address]) assert.equal(rd32((await host.transact(CMD.FREE, le32(a))).payload, 0), 0);
    const ping = await host.transact(CMD.PING, [1, 2, 3]);
    assert.deepEqual([...ping.payload], [1, 2, 3]);
  });

test('after a P4-JIT host got OUTPUT frames and closed, a seed host sees seed frames again', needsFirmwareElf(), async () => {
  await host.close(); // one host at a time on the port
  const client = await DeviceClient.open(emu.port);
  let output = '';
  client.on('output', (t: string) => { output += t; });
  const code = await loadCode(client, { name: 'ours', sources: [writeSource('ours', '#include <stdint.h>\n#include <stdio.h>\nvoid __p4jit_entry(const uint64_t *a, uint64_t *r) { (void)a; printf("to the host\\n"); *r = 5; }\n')], build });
  await client.call(code.entry, Buffer.alloc(0));
  assert.equal(output, 'to the host\n');
  await client.free(code.addr);
  await client.close();

  host = await SeedHost.open(emu.port);
  const f = await host.load('#include <stdio.h>\nint __p4jit_entry(void) { printf("seed again\\n"); return 7; }\n', build, 'printer2');
  const exec = await host.transact(CMD.EXEC, le32(f.entry));
  assert.deepEqual([exec.flags, exec.payload.readInt32LE(0)], [0x01, 7]);
  await consoleShows('seed again\n');
  await host.transact(CMD.FREE, le32(f.address));
});

function writeSource(name: string, text: string): string {
  const file = join(build.buildDir, `${name}.c`);
  writeFileSync(file, text);
  return file;
}
