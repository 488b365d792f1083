/**
 * The device's bounds, probed with raw frames (no client in between to split, check or retry):
 * every READ / WRITE / EXEC / CALL / FREE outside a live allocation is refused — one byte past
 * the end, across the end, across two neighbouring allocations, at address 0, in the firmware's
 * own memory, ranges that wrap around 2^32, after a FREE — and oversized or cut-short frames
 * are answered or dropped as docs/protocol.md says. After every refusal the device still answers
 * PING.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { encodeFrame, type Frame } from '../../extension/protocol/codec.js';
import { Cmd, DeviceCap, Err, errName, Flag, MallocCap } from '../../extension/protocol/constants.js';
import { encodeSealed, unseal } from '../../extension/protocol/seal.js';
import { OPTIONS_ADDR } from '../../extension/emulator/qemu-args.js';
import { parseInfo, u32s, type DeviceInfo } from '../../extension/protocol/payloads.js';
import { RawLink } from '../helpers/raw-link.js';
import { startDevice, type DeviceUnderTest } from '../helpers/device.js';

const DATA_CAPS = MallocCap.SPIRAM | MallocCap['8BIT'];
const CODE_CAPS = MallocCap.EXEC | DATA_CAPS;
/** The emulator's RAM starts here, with the firmware image (code, data, the receive buffer). */
const FIRMWARE_BASE = 0x80000000;

let emu: DeviceUnderTest;
let raw: RawLink;
let info: DeviceInfo;
let data: number; // 64 bytes, not executable
let next: number; // 64 bytes allocated right after `data` when the heap puts it there
let code: number; // 64 bytes, executable
let internal: number; // 64 bytes of internal memory without MALLOC_CAP_EXEC: not executable

async function ask(cmd: number, payload: Buffer = Buffer.alloc(0)): Promise<Frame> {
  await raw.send(encodeFrame(cmd, Flag.Request, payload));
  return raw.next();
}

async function ok(cmd: number, payload?: Buffer): Promise<Buffer> {
  const f = await ask(cmd, payload);
  assert.equal(f.flags, Flag.Ok, `${cmd}: ${f.flags === Flag.Error ? errName(f.payload.readUInt32LE(0)) : f.flags}`);
  return f.payload;
}

async function alloc(size: number, caps: number, align = 4): Promise<number> {
  const p = await ok(Cmd.Alloc, u32s(size, caps, align));
  assert.equal(p.readUInt32LE(4), Err.OK);
  return p.readUInt32LE(0);
}

/** The refusal with the expected code, for the command sent, then a PING that is answered. */
async function refused(cmd: number, payload: Buffer, code: number, what: string): Promise<void> {
  const f = await ask(cmd, payload);
  assert.equal(f.cmd, cmd, what);
  assert.equal(f.flags, Flag.Error, `${what}: expected ${errName(code)}, got an OK reply`);
  assert.equal(errName(f.payload.readUInt32LE(0)), errName(code), what);
  await stillAnswers(what);
}

async function stillAnswers(after: string): Promise<void> {
  const nonce = Buffer.from(`alive ${after}`.slice(0, 60));
  const f = await ask(Cmd.Ping, nonce);
  assert.deepEqual([f.cmd, f.flags, f.payload.toString()], [Cmd.Ping, Flag.Ok, nonce.toString()], `PING after ${after}`);
}

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

before(async () => {
  emu = await startDevice();
  raw = await RawLink.open(emu.port);
  info = parseInfo(await ok(Cmd.Info));
  data = await alloc(64, DATA_CAPS, 16);
  next = await alloc(64, DATA_CAPS, 16);
  code = await alloc(64, CODE_CAPS, 16);
  internal = await alloc(64, MallocCap.INTERNAL | MallocCap['8BIT'], 16);
});

after(async () => {
  // a board goes on to the next suite: leave it with no allocation of ours
  for (const a of [data, next, code, internal]) if (raw && a) await ask(Cmd.Free, u32s(a));
  await raw?.close();
  await emu?.stop();
});

test('in-bounds accesses work (the probes below differ from these only in the range)', async () => {
  await ok(Cmd.WriteMem, Buffer.concat([u32s(data), Buffer.alloc(64, 0xab)]));
  assert.deepEqual(await ok(Cmd.ReadMem, u32s(data, 64)), Buffer.alloc(64, 0xab));
  assert.equal((await ok(Cmd.ReadMem, u32s(data + 63, 1))).length, 1, 'the last byte');
  assert.equal((await ok(Cmd.WriteMem, u32s(data + 64))).readUInt32LE(0), 0, 'an empty write at the very end');
});

test('READ outside a live allocation: NOT_ALLOCATED', async () => {
  const cases: [number, number, string][] = [
    [data + 64, 1, 'one byte past the end'],
    [data + 63, 2, 'across the end'],
    [data - 1, 1, 'one byte before the start'],
    [data, 65, 'one byte too many'],
    [data + 60, 8, next === data + 64 ? 'across into the neighbouring allocation' : 'across the end'],
    [0, 4, 'address 0'],
    [FIRMWARE_BASE, 16, "the firmware's code"],
    [OPTIONS_ADDR, 16, "the firmware's options block"],
    [0xfffffff0, 0x20, 'a range wrapping around 2^32'],
    [0xffffffff, 1, 'the last address'],
  ];
  for (const [addr, len, what] of cases) {
    await refused(Cmd.ReadMem, u32s(addr, len), Err.NOT_ALLOCATED, `READ ${hex(addr)}+${len} (${what})`);
  }
});

test('READ larger than the maximum payload: PAYLOAD_TOO_LARGE, also inside an allocation', async () => {
  await refused(Cmd.ReadMem, u32s(data, info.maxPayload + 1), Err.PAYLOAD_TOO_LARGE, 'READ max_payload + 1');
  await refused(Cmd.ReadMem, u32s(data, 0xffffffff), Err.PAYLOAD_TOO_LARGE, 'READ 4 GiB');
});

test('WRITE outside a live allocation: NOT_ALLOCATED, and nothing is written', async () => {
  const cases: [number, number, string][] = [
    [data + 64, 1, 'one byte past the end'],
    [data + 60, 8, 'across the end (into the neighbour when there is one)'],
    [data - 4, 4, 'just before the start'],
    [0, 4, 'address 0'],
    [FIRMWARE_BASE, 4, "the firmware's code"],
    [OPTIONS_ADDR, 4, "the firmware's options block"],
    [0xfffffffc, 8, 'a range wrapping around 2^32'],
  ];
  await ok(Cmd.WriteMem, Buffer.concat([u32s(next), Buffer.alloc(64, 0x11)]));
  for (const [addr, len, what] of cases) {
    await refused(Cmd.WriteMem, Buffer.concat([u32s(addr), Buffer.alloc(len, 0xee)]), Err.NOT_ALLOCATED, `WRITE ${hex(addr)}+${len} (${what})`);
  }
  assert.deepEqual(await ok(Cmd.ReadMem, u32s(data, 64)), Buffer.alloc(64, 0xab), 'the allocation is untouched');
  assert.deepEqual(await ok(Cmd.ReadMem, u32s(next, 64)), Buffer.alloc(64, 0x11), 'its neighbour is untouched');
});

test('EXEC and CALL outside an executable allocation: NOT_EXECUTABLE', async () => {
  const cases: [number, string][] = [
    [internal, 'internal memory allocated without MALLOC_CAP_EXEC (PSRAM counts as executable, as on the P4)'],
    [code + 63, 'the last byte of an executable allocation (the instruction would run past it)'],
    [code + 64, 'one byte past its end'],
    [code - 4, 'just before its start'],
    [0, 'address 0'],
    [FIRMWARE_BASE, "the firmware's own code"],
    [0xffffffff, 'the last address (the byte after wraps around 2^32)'],
  ];
  for (const [addr, what] of cases) {
    await refused(Cmd.Exec, u32s(addr), Err.NOT_EXECUTABLE, `EXEC ${hex(addr)} (${what})`);
    await refused(Cmd.Call, u32s(addr, 0, 1, 0), Err.NOT_EXECUTABLE, `CALL ${hex(addr)} (${what})`);
  }
});

test('FREE of anything but the start of a live allocation: NOT_ALLOCATED', async () => {
  const cases: [number, string][] = [
    [data + 4, 'inside an allocation'],
    [data + 64, 'its end'],
    [0, 'address 0'],
    [FIRMWARE_BASE, "the firmware's memory"],
    [0xffffffff, 'the last address'],
  ];
  for (const [addr, what] of cases) await refused(Cmd.Free, u32s(addr), Err.NOT_ALLOCATED, `FREE ${hex(addr)} (${what})`);
});

test('after FREE, the memory is out of bounds: READ, WRITE, CALL and a second FREE are refused', async () => {
  const gone = await alloc(32, CODE_CAPS, 16);
  await ok(Cmd.Free, u32s(gone));
  await refused(Cmd.ReadMem, u32s(gone, 4), Err.NOT_ALLOCATED, 'READ after FREE');
  await refused(Cmd.WriteMem, Buffer.concat([u32s(gone), Buffer.alloc(4)]), Err.NOT_ALLOCATED, 'WRITE after FREE');
  await refused(Cmd.Call, u32s(gone, 0), Err.NOT_EXECUTABLE, 'CALL after FREE');
  await refused(Cmd.Free, u32s(gone), Err.NOT_ALLOCATED, 'a second FREE');
});

test('ALLOC with bad fields: BAD_ARGUMENT, BAD_ALIGN, ALLOC_FAIL (in the reply, flags 01)', async () => {
  const cases: [Buffer, number, string][] = [
    [u32s(0, DATA_CAPS, 4), Err.BAD_ARGUMENT, 'size 0'],
    [u32s(64, DATA_CAPS, 3), Err.BAD_ALIGN, 'alignment 3'],
    [u32s(64, DATA_CAPS, 8192), Err.BAD_ALIGN, 'alignment 8192'],
    [u32s(0xffffff00, DATA_CAPS, 4), Err.ALLOC_FAIL, 'size near 4 GiB'],
    [u32s(64, 1 << 30, 4), Err.ALLOC_FAIL, 'caps no region has'],
  ];
  for (const [payload, code, what] of cases) {
    const p = await ok(Cmd.Alloc, payload);
    assert.deepEqual([p.readUInt32LE(0), errName(p.readUInt32LE(4))], [0, errName(code)], `ALLOC ${what}`);
    await stillAnswers(`ALLOC ${what}`);
  }
});

test('a header announcing more than the maximum payload: PAYLOAD_TOO_LARGE once it stalls, then the device answers', async () => {
  for (const length of [info.maxPayload + 1, 0xffffffff]) {
    const header = encodeFrame(Cmd.WriteMem, Flag.Request).subarray(0, 8);
    header.writeUInt32LE(length, 4);
    await raw.send(header);
    const f = await raw.next(3000); // after the device's inter-byte timeout
    assert.deepEqual([f.cmd, f.flags, errName(f.payload.readUInt32LE(0))], [Cmd.WriteMem, Flag.Error, 'PAYLOAD_TOO_LARGE'], `length ${length}`);
    await stillAnswers(`a header announcing ${length} bytes`);
  }
});

test('an oversized payload sent in full is drained unparsed: frames inside it are not answered', async () => {
  const inner = encodeFrame(Cmd.Ping, Flag.Request, Buffer.from('never answered'));
  const payload = Buffer.alloc(info.maxPayload + 1);
  for (let o = 0; o + inner.length <= payload.length; o += 4096) inner.copy(payload, o);
  const frame = encodeFrame(Cmd.WriteMem, Flag.Request, payload);
  await raw.send(frame);
  const f = await raw.next(30000);
  assert.deepEqual([f.cmd, f.flags, errName(f.payload.readUInt32LE(0))], [Cmd.WriteMem, Flag.Error, 'PAYLOAD_TOO_LARGE']);
  await stillAnswers('an oversized frame'); // and no PING reply from inside it came first
});

test('a frame cut short is dropped after the inter-byte timeout; the next frame parses', async () => {
  const write = encodeFrame(Cmd.WriteMem, Flag.Request, Buffer.concat([u32s(data), Buffer.alloc(64, 0x77)]));
  await raw.send(write.subarray(0, 20));
  await assert.rejects(raw.next(900), /no frame/, 'a cut frame gets no answer');
  await stillAnswers('a frame cut short');
  assert.deepEqual(await ok(Cmd.ReadMem, u32s(data, 64)), Buffer.alloc(64, 0xab), 'and it was not executed');
});

test('frames that are not requests are never answered; bytes before a frame are skipped', async () => {
  await raw.send(encodeFrame(Cmd.Ping, Flag.Ok, Buffer.from('a reply echoed back')));
  await raw.send(encodeFrame(Cmd.Alloc, Flag.Error, u32s(1)));
  const bad = encodeFrame(Cmd.Ping, Flag.Ok, Buffer.from('corrupt'));
  bad[bad.length - 1] ^= 1;
  await raw.send(bad);
  await raw.send(Buffer.from([0x00, 0xa5, 0xff, 0x5a, 0xa5, 0xa5]));
  await stillAnswers('frames that are not requests and stray bytes');
});

test('SEALED: a request whose CRC-32 fails though its sum holds gets a plain CHECKSUM and does not run', async () => {
  assert.ok(info.capabilities & DeviceCap.Sealed, 'the emulator offers SEALED frames');
  const write = Buffer.from(encodeSealed(Cmd.WriteMem, 1, Buffer.concat([u32s(data), Buffer.alloc(64, 0x55)])));
  // one payload byte up, another down: the 16-bit sum cannot tell
  write[20] += 1;
  write[21] -= 1;
  await refused(Cmd.Sealed, Buffer.alloc(7), Err.BAD_LENGTH, 'a SEALED frame shorter than its seal');
  await raw.send(write);
  const r = await raw.next();
  assert.deepEqual([r.cmd, r.flags, errName(r.payload.readUInt32LE(0))], [Cmd.Sealed, Flag.Error, 'CHECKSUM']);
  await stillAnswers('a damaged sealed frame');
  assert.deepEqual(await ok(Cmd.ReadMem, u32s(data, 64)), Buffer.alloc(64, 0xab), 'the write did not happen');
});

test('SEALED: replies, errors included, come sealed with the request\'s number; nesting is refused', async () => {
  const open = async (cmd: number, seq: number, payload: Buffer) => {
    await raw.send(encodeSealed(cmd, seq, payload));
    const opened = unseal(await raw.next());
    assert.ok(opened.ok, 'a valid sealed reply');
    assert.equal(opened.seq, seq);
    return opened.frame;
  };
  const read = await open(Cmd.ReadMem, 200, u32s(data, 64));
  assert.deepEqual([read.cmd, read.flags, read.payload], [Cmd.ReadMem, Flag.Ok, Buffer.alloc(64, 0xab)]);
  const past = await open(Cmd.ReadMem, 201, u32s(data + 64, 1));
  assert.deepEqual([past.cmd, past.flags, errName(past.payload.readUInt32LE(0))], [Cmd.ReadMem, Flag.Error, 'NOT_ALLOCATED']);
  const nested = await open(Cmd.Sealed, 202, Buffer.alloc(8));
  assert.deepEqual([nested.cmd, nested.flags, errName(nested.payload.readUInt32LE(0))], [Cmd.Sealed, Flag.Error, 'BAD_ARGUMENT']);
  await stillAnswers('sealed requests'); // and a plain request after them is answered plainly
});
