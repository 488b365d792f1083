/**
 * The walking skeleton on the real emulator over its real pty: protocol commands, compiled code
 * run with EXEC and CALL, and bad input the device must survive.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { DeviceClient } from '../../extension/device/client.js';
import { DeviceError } from '../../extension/device/errors.js';
import { encodeFrame } from '../../extension/protocol/codec.js';
import { Cmd, Err, Flag, MallocCap } from '../../extension/protocol/constants.js';
import { discoverToolchain } from '../../toolchain/discover.js';
import { loadCode } from '../../extension/session/loader.js';
import { emulatorOnly, startDevice, type DeviceUnderTest } from '../helpers/device.js';
import { RawLink } from '../helpers/raw-link.js';
import { fixture, scratchDir } from '../helpers/paths.js';

let emu: DeviceUnderTest;
let client: DeviceClient;
const build = () => ({ toolchain: discoverToolchain(), buildDir: scratchDir('skeleton') });

before(async () => {
  emu = await startDevice();
  client = await emu.connect();
});

after(async () => {
  await client?.close();
  await emu?.stop();
});

test('PING echoes its payload', async () => {
  const payload = Buffer.from('cafebabe', 'hex');
  assert.deepEqual(await client.ping(payload), payload);
});

test('INFO describes the emulated device', emulatorOnly('the emulated board\'s name and buffer size'), () => {
  assert.ok(client.info);
  assert.equal(client.info.protocolVersion, 2);
  assert.equal(client.info.board, 'qemu-virt');
  assert.ok(client.info.maxPayload >= 64 * 1024);
});

test('ALLOC in each region, WRITE then READ back equal, FREE, HEAP_INFO restored', async () => {
  const before = await client.heapInfo();
  const psram = await client.alloc(4096, MallocCap.SPIRAM | MallocCap['8BIT'], 64);
  const internal = await client.alloc(1000, MallocCap.INTERNAL | MallocCap['8BIT']);
  assert.equal(psram % 64, 0);
  assert.ok(psram >= 0x80000000, 'emulator RAM lies above 2^31: addresses are unsigned');
  const during = await client.heapInfo();
  assert.ok(during.freeSpiram <= before.freeSpiram - 4096);
  assert.ok(during.freeInternal <= before.freeInternal - 1000);
  assert.equal(during.totalSpiram, before.totalSpiram);

  const data = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7 + 3) & 0xff));
  await client.write(psram, data);
  assert.deepEqual(await client.read(psram, 4096), data);
  await client.write(internal + 10, Buffer.from('hello'));
  assert.equal((await client.read(internal + 10, 5)).toString(), 'hello');

  await client.free(psram);
  await client.free(internal);
  assert.deepEqual(await client.heapInfo(), before);
});

test('EXEC runs compiled code: a negative result', async () => {
  const code = await loadCode(client, { name: 'exec_values', sources: [fixture('exec_values.c')], build: build() });
  try {
    assert.equal(await client.exec(code.entry), -343);
  } finally {
    await client.free(code.addr);
  }
});

test('EXEC runs compiled code: a value above 2^31 keeps its bits', async () => {
  const code = await loadCode(client, { name: 'exec_unsigned', sources: [fixture('exec_unsigned.c')], build: build() });
  try {
    assert.equal((await client.exec(code.entry)) >>> 0, 0x80000005);
  } finally {
    await client.free(code.addr);
  }
});

test('CALL passes int arguments in slots and returns 64 bits with cycles', async () => {
  const code = await loadCode(client, { name: 'call_scalar', sources: [fixture('call_scalar.c')], build: build() });
  try {
    const slots = Buffer.alloc(24);
    [5, 40, -7].forEach((v, i) => slots.writeBigInt64LE(BigInt(v), 8 * i));
    const r = await client.call(code.entry, slots);
    assert.equal(r.ret.readBigInt64LE(0), BigInt(3 * 5 - 2 * 40 - 7));
    assert.ok(r.cycles > 0n);
  } finally {
    await client.free(code.addr);
  }
});

test('FREE of an address that is not an allocation start is refused', async () => {
  const a = await client.alloc(64, MallocCap.SPIRAM);
  await assert.rejects(client.free(a + 4), (e: unknown) => e instanceof DeviceError && e.code === Err.NOT_ALLOCATED);
  await client.free(a);
  await assert.rejects(client.free(a), (e: unknown) => e instanceof DeviceError && e.code === Err.NOT_ALLOCATED);
});

test('an unknown command id gets error code 2', async () => {
  await assert.rejects(client.request(0x77), (e: unknown) => e instanceof DeviceError && e.code === Err.UNKNOWN_CMD);
  assert.equal((await client.ping(Buffer.from('still here'))).toString(), 'still here');
});

test('raw frames: a wrong checksum gets error code 1 and the next PING is answered', async () => {
  await client.close();
  const raw = await RawLink.open(emu.port);
  try {
    const bad = encodeFrame(Cmd.Ping, Flag.Request, Buffer.from('xy'));
    bad[bad.length - 1] ^= 0x40;
    await raw.send(bad);
    const err = await raw.next();
    assert.equal(err.flags, Flag.Error);
    assert.equal(err.cmd, Cmd.Ping);
    assert.equal(err.payload.readUInt32LE(0), Err.CHECKSUM);

    await raw.send(encodeFrame(Cmd.Ping, Flag.Request, Buffer.from('cafebabe', 'hex')));
    const ok = await raw.next();
    // the seed's example reply, byte for byte
    assert.equal(encodeFrame(ok.cmd, ok.flags, ok.payload).toString('hex'), 'a55a010104000000cafebabe4504');

    await raw.send(encodeFrame(0x77, Flag.Request));
    const unknown = await raw.next();
    assert.deepEqual([unknown.cmd, unknown.flags, unknown.payload.readUInt32LE(0)], [0x77, Flag.Error, Err.UNKNOWN_CMD]);
  } finally {
    await raw.close();
    client = await emu.connect();
  }
});
