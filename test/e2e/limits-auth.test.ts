/**
 * Device limits and authentication on emulators started with options: every limit breach has its
 * own error code and a host message that says which limit, none wedges the device; with a secret,
 * every privileged command is refused until the host proves it knows the secret — which never
 * crosses the wire — wrong answers are refused and then rate limited; the CLI takes the secret
 * from --secret or P4JIT_SECRET and says what to do without one.
 *
 * On a board (npm run test:board) the limits are its Kconfig's, read from INFO; the tests that
 * need limits or a secret set at an emulator's start are skipped there.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

import { DeviceClient } from '../../extension/device/client.js';
import { DeviceError } from '../../extension/device/errors.js';
import { SerialTransport } from '../../extension/device/transport.js';
import { Cmd, DeviceCap, Err, errName, MallocCap } from '../../extension/protocol/constants.js';
import { u32s } from '../../extension/protocol/payloads.js';
import { JitSession } from '../../extension/session/jit-session.js';
import { BOARD_CANNOT_STOP_CODE, emulatorOnly, startDevice, type DeviceUnderTest } from '../helpers/device.js';
import { RecordingLink } from '../helpers/fault-link.js';
import { fixture, repoRoot, scratchDir } from '../helpers/paths.js';

const DATA_CAPS = MallocCap.SPIRAM | MallocCap['8BIT'];
const CODE_CAPS = MallocCap.EXEC | DATA_CAPS;
const FAULTS_C = fixture('corpus/faults.c');
const SECRET = 'correct horse battery staple';

const refusedWith = (code: number, text?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof DeviceError, `expected a DeviceError, got ${String(e)}`);
  assert.equal(errName(e.code), errName(code));
  if (text) assert.match(e.message, text);
  return true;
};

const devices: DeviceUnderTest[] = [];
async function start(opts: Parameters<typeof startDevice>[0]): Promise<DeviceUnderTest> {
  const emu = await startDevice(opts);
  devices.push(emu);
  return emu;
}
const WITH_A_SECRET = emulatorOnly('a device started with a secret (the example firmware has authentication off)');

after(async () => {
  for (const e of devices) await e.stop();
});

describe('limits', () => {
  const limits = { maxAllocs: 4, maxAllocBytes: 8192, defaultCallMs: 300, maxCallMs: 1000 };
  let client: DeviceClient;
  let session: JitSession;

  before(async () => {
    client = await (await start(limits)).connect();
    session = new JitSession(client, {
      optimization: '-O2', extraFlags: [], codeCaps: CODE_CAPS, dataCaps: DATA_CAPS, callTimeLimitMs: 0,
      linkFolderSources: false, buildRoot: scratchDir('limits-build'),
    });
  });

  after(async () => {
    for (const a of await client?.listAllocs() ?? []) await client.free(a.addr); // a board goes on to the next suite
    await client?.close();
  });

  test('INFO reports the limits the emulator was started with', emulatorOnly('limits set at the emulator\'s start'), () => {
    const i = client.info!;
    assert.deepEqual([i.maxAllocs, i.maxAllocBytes, i.defaultCallMs, i.maxCallMs], [4, 8192, 300, 1000]);
  });

  test('one allocation too many: TABLE_FULL, saying how many the device holds; freeing one makes room', async () => {
    const max = client.info!.maxAllocs;
    const held: number[] = [];
    while (held.length < max) held.push(await client.alloc(16, DATA_CAPS));
    await assert.rejects(client.alloc(16, DATA_CAPS), refusedWith(Err.TABLE_FULL, new RegExp(`allocation table is full.*at most ${max} allocations`)));
    await client.free(held.pop()!);
    held.push(await client.alloc(16, DATA_CAPS));
    for (const a of held) await client.free(a);
    assert.deepEqual(await client.listAllocs(), []);
  });

  test('too many bytes in all: LIMIT_BYTES, saying the limit; up to the limit works', async (t) => {
    const limit = client.info!.maxAllocBytes;
    if (limit === 0) return t.skip('the device sets no byte limit (P4_JIT_MAX_ALLOC_BYTES 0)');
    const half = Math.floor(limit / 2);
    const first = await client.alloc(half, DATA_CAPS);
    await assert.rejects(client.alloc(limit - half + 1, DATA_CAPS), refusedWith(Err.LIMIT_BYTES, new RegExp(`allows ${limit} allocated bytes`)));
    await assert.rejects(client.alloc(0xffffffff, DATA_CAPS), refusedWith(Err.LIMIT_BYTES), 'a size that would overflow a sum');
    const second = await client.alloc(limit - half, DATA_CAPS);
    await client.free(first);
    await client.free(second);
  });

  test('a call running past the default limit: TIMEOUT with the limit and where it stopped; the device goes on',
    emulatorOnly(BOARD_CANNOT_STOP_CODE), async () => {
      const spin = await session.load(FAULTS_C, 'spin_forever');
      const slots = Buffer.alloc(8);
      await assert.rejects(client.call(spin.entry, slots), refusedWith(Err.TIMEOUT, /exceeded its time limit.*stopped at pc 0x[0-9a-f]+.*time limit 300 ms/));
      const r = await session.run(FAULTS_C, 'spin_forever', ['0']);
      assert.equal(r.fault?.kind, 'timeout');
      assert.match(r.fault!.message, /spin_forever exceeded its time limit and was stopped at pc 0x[0-9a-f]+/);
      assert.equal((await session.run(FAULTS_C, 'still_alive', ['1'])).returnValue, 2);
    });

  test('a time limit above the maximum: BAD_ARGUMENT, saying both; the maximum itself is accepted', async () => {
    const max = client.info!.maxCallMs;
    const alive = await session.load(FAULTS_C, 'still_alive');
    const slots = Buffer.alloc(8);
    await assert.rejects(client.call(alive.entry, slots, { timeLimitMs: max + 1 }),
      refusedWith(Err.BAD_ARGUMENT, new RegExp(`time limit of ${max + 1} ms is above the device's maximum of ${max} ms`)));
    assert.equal((await client.call(alive.entry, slots, { timeLimitMs: max })).ret.readInt32LE(0), 1);
    await session.freeAll();
    assert.deepEqual(await client.listAllocs(), []);
  });
});

describe('authentication', WITH_A_SECRET, () => {
  let emu: DeviceUnderTest;
  let wire: RecordingLink;
  let client: DeviceClient;

  before(async () => {
    // the refusal period is time: host-clock time, not -icount's emulated time (which an idle
    // device polling its UART advances far slower than the wall clock)
    emu = await start({ secret: SECRET, icount: false });
    wire = new RecordingLink(await SerialTransport.open(emu.port));
    client = await DeviceClient.attach(wire);
  });

  after(async () => {
    await client?.close();
  });

  test('before authenticating: PING, INFO and AUTH_CHALLENGE work, every other command is NOT_AUTHENTICATED', async () => {
    assert.ok(client.has(DeviceCap.AuthRequired) && !client.has(DeviceCap.Authenticated));
    assert.equal((await client.ping(Buffer.from('hi'))).toString(), 'hi');
    await client.readInfo();
    assert.equal((await client.request(Cmd.AuthChallenge)).length, 32);
    const privileged: [number, Buffer][] = [
      [Cmd.Alloc, u32s(64, DATA_CAPS, 4)], [Cmd.Free, u32s(0x80000000)], [Cmd.WriteMem, u32s(0x80000000, 0)],
      [Cmd.ReadMem, u32s(0x80000000, 4)], [Cmd.Exec, u32s(0x80000000)], [Cmd.Call, u32s(0x80000000, 0)],
      [Cmd.HeapInfo, Buffer.alloc(0)], [Cmd.ListAllocs, Buffer.alloc(0)],
      [Cmd.Alloc, Buffer.alloc(3)], // checked before the payload length
    ];
    for (const [cmd, payload] of privileged) {
      await assert.rejects(client.request(cmd, payload), refusedWith(Err.NOT_AUTHENTICATED, /requires authentication/));
    }
    await assert.rejects(client.alloc(64, DATA_CAPS), refusedWith(Err.NOT_AUTHENTICATED));
  });

  test('a wrong secret: AUTH_FAILED; after three, RATE_LIMITED; the right one after the wait is accepted', async () => {
    for (let i = 0; i < 3; i++) {
      await assert.rejects(client.authenticate('wrong secret'), refusedWith(Err.AUTH_FAILED, /wrong secret/));
    }
    await assert.rejects(client.authenticate(SECRET), refusedWith(Err.RATE_LIMITED, /wait and retry/), 'even the right secret waits');
    await assert.rejects(client.heapInfo(), refusedWith(Err.NOT_AUTHENTICATED));
    await new Promise((r) => setTimeout(r, 1200)); // the first refusal period is 1 s
    await client.authenticate(SECRET);
    assert.ok(client.has(DeviceCap.Authenticated));
    const a = await client.alloc(64, DATA_CAPS);
    await client.free(a);
  });

  test('a host that closes logs out (AUTH_END): the next connection starts unauthenticated, and finds the allocations', async () => {
    assert.ok(client.has(DeviceCap.Authenticated));
    const kept = await client.alloc(48, DATA_CAPS);
    await client.close();
    client = await DeviceClient.attach(wire = new RecordingLink(await SerialTransport.open(emu.port)));
    assert.ok(client.has(DeviceCap.AuthRequired) && !client.has(DeviceCap.Authenticated), 'the new host is not authenticated');
    await assert.rejects(client.heapInfo(), refusedWith(Err.NOT_AUTHENTICATED));
    await client.authenticate(SECRET);
    assert.ok((await client.listAllocs()).some((a) => a.addr === kept && a.size === 48), 'the allocation survived the change of host');
    await client.free(kept);
  });

  test('the secret never crossed the wire: only HMACs of device nonces', () => {
    const sent = wire.bytes;
    assert.ok(sent.length > 0);
    assert.equal(sent.indexOf(Buffer.from(SECRET)), -1, 'the secret itself');
    for (const part of SECRET.split(' ')) assert.equal(sent.indexOf(Buffer.from(part)), -1, `a piece of it: "${part}"`);
    assert.equal(sent.indexOf(Buffer.from('wrong secret')), -1, 'nor a wrong one');
  });
});

describe('the CLI with a device that requires authentication', WITH_A_SECRET, () => {
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => promisify(execFile)(process.execPath, [join(repoRoot, 'bin', 'p4jit.js'), ...args],
    { env: { ...process.env, P4JIT_SECRET: '', ...env }, timeout: 30000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));

  test('without a secret it says how to give one; a wrong one is refused; P4JIT_SECRET works', async () => {
    const emu = await start({ secret: SECRET });
    const none = await cli(['heap', '--port', emu.port]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^p4jit: the device requires authentication: set P4JIT_SECRET or pass --secret-file FILE$/m);
    const wrong = await cli(['heap', '--port', emu.port, '--secret', 'nope']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /authentication failed: wrong secret/);
    const env = await cli(['heap', '--port', emu.port], { P4JIT_SECRET: SECRET });
    assert.equal(env.code, 0, env.stderr);
    assert.match(env.stdout, /PSRAM\s+\d+ free/);
    const next = await cli(['heap', '--port', emu.port]);
    assert.equal(next.code, 1, 'the next process does not inherit the authentication');
    assert.match(next.stderr, /the device requires authentication/);
  });

  test('--secret works', async () => {
    const emu = await start({ secret: SECRET });
    const r = await cli(['heap', '--port', emu.port, '--secret', SECRET]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /PSRAM\s+\d+ free/);
  });
});
