/**
 * Losing the device: the emulator killed in the middle of a large upload, in the middle of a
 * call, and (QEMU itself, from outside) while idle. What must happen: the pending request and
 * every queued one fail with DisconnectedError at once rather than at their timeouts, the
 * client emits 'disconnect', and a JitSession marks what it loaded stale. On a new device the
 * session never calls a stale function: it refuses, or reloads it on the next run.
 *
 * Timing checks are loose behaviour bounds (a second or two against timeouts of 10 s and more):
 * they tell "noticed the loss" from "waited for the timeout", they do not benchmark anything.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { after, before, test } from 'node:test';

import { DeviceClient } from '../../extension/device/client.js';
import { DisconnectedError } from '../../extension/device/errors.js';
import { Emulator } from '../../extension/emulator/launcher.js';
import { MallocCap } from '../../extension/protocol/constants.js';
import { JitSession } from '../../extension/session/jit-session.js';
import { loadImage, readElf } from '../../toolchain/elf.js';
import { fixture, scratchDir } from '../helpers/paths.js';
import { childrenOf } from '../helpers/processes.js';

const FAULTS_C = fixture('corpus/faults.c');
const CODE_CAPS = MallocCap.EXEC | MallocCap.SPIRAM | MallocCap['8BIT'];
const DATA_CAPS = MallocCap.SPIRAM | MallocCap['8BIT'];
/** "At once": far below the timeouts in play here (10 s and more: a 1 MiB upload's, a 30 s call's), with room for a loaded machine. */
const PROMPT_MS = 2000;

let emu: Emulator | undefined;
let client: DeviceClient;
let session: JitSession;
const running: Emulator[] = [];

async function newDevice(opts: Parameters<typeof Emulator.start>[0] = {}): Promise<DeviceClient> {
  emu = await Emulator.start(opts);
  running.push(emu);
  return emu.connect({ timeoutMs: 10000 });
}

const isDisconnected = (e: unknown) => e instanceof DisconnectedError;

before(async () => {
  // the UART link (~0.3 MB/s) makes a 1 MiB upload last seconds: time to kill QEMU in its middle
  client = await newDevice({ link: 'uart' });
  session = new JitSession(client, {
    optimization: '-O2', extraFlags: [], codeCaps: CODE_CAPS, dataCaps: DATA_CAPS, callTimeLimitMs: 0,
    linkFolderSources: false, buildRoot: scratchDir('loss-build'),
  });
});

after(async () => {
  await client?.close();
  for (const e of running) await e.stop();
});

test('killed during a large upload: the upload and the queued requests fail at once', async (t) => {
  const stillAlive = await session.load(FAULTS_C, 'still_alive');
  const size = client.maxPayload - 4; // one WRITE_MEM frame: the requests queued after it wait for all of it
  const addr = await client.alloc(size, DATA_CAPS);
  const data = Buffer.alloc(size, 0x5a);
  const lost = once(client, 'disconnect');
  const sent = client.stats.requests;
  const upload = client.write(addr, data).then(() => 'finished', (e: unknown) => e);
  const queued = [client.heapInfo(), client.ping(Buffer.from('queued'))].map((p) => p.then(() => 'answered', (e: unknown) => e));
  await new Promise((r) => setTimeout(r, 300)); // the upload is under way
  assert.equal(client.stats.requests, sent + 1, 'only the upload has been sent');
  const killedAt = Date.now();
  emu!.kill();
  const result = await upload;
  const noticedMs = Date.now() - killedAt;
  assert.ok(isDisconnected(result), `the upload ended with ${String(result)}`);
  assert.ok(noticedMs < PROMPT_MS, `noticed after ${noticedMs} ms: that is waiting for a timeout, not noticing the loss`);
  t.diagnostic(`upload failed ${noticedMs} ms after the kill: ${(result as Error).message}`);
  for (const q of await Promise.all(queued)) assert.ok(isDisconnected(q), `a queued request ended with ${String(q)}`);
  const [err] = await lost;
  assert.ok(isDisconnected(err));
  assert.equal(client.connected, false);
  await assert.rejects(client.ping(), isDisconnected, 'later requests fail at once too');

  assert.ok(session.loaded().every((f) => f.stale), 'the session marks its functions stale');
  await assert.rejects(session.call(stillAlive.key, ['1']), /run it again to reload it/);
});

test('a new device: a function stale from the old one is never called, even where the new one has something at its address', async () => {
  client = await newDevice();
  const stale = session.loaded()[0];
  // the new device's allocator hands out the same first address: make it hold other bytes there
  const squatter = await client.alloc(stale.size, CODE_CAPS, 16);
  assert.equal(squatter, stale.addr, 'the new device put an allocation where the stale function was');
  await client.write(squatter, Buffer.alloc(stale.size, 0)); // zeros: not the function's code
  await session.reconnect(client);
  assert.ok(session.loaded().every((f) => f.stale), 'same address and size on a new device is not the function');
  await assert.rejects(session.call(stale.key, ['1']), /run it again to reload it/);
  await client.free(squatter);

  const r = await session.run(FAULTS_C, 'still_alive', ['41']);
  assert.equal(r.returnValue, 42, 'the next run reloads it');
  const reloaded = session.loaded().find((f) => f.key === stale.key)!;
  assert.equal(reloaded.stale, false);
  assert.deepEqual(await client.read(reloaded.addr, reloaded.size), loadImage(readElf(reloaded.elfPath), reloaded.addr), 'its code is on the new device');
});

test('reconnecting to the same device keeps what it still holds', async () => {
  const fn = session.loaded().find((f) => !f.stale)!;
  await client.close(); // e.g. the port closed and opened again; the device ran on
  client = await emu!.connect({ timeoutMs: 10000 });
  await session.reconnect(client);
  assert.equal(session.loaded().find((f) => f.key === fn.key)!.stale, false);
  assert.equal((await session.call(fn.key, ['9'])).returnValue, 10, 'called without a reload');
});

test('killed during a call: the call and a queued request fail at once; the session goes on on a new device', async (t) => {
  const spin = await session.load(FAULTS_C, 'spin_forever');
  const lost = once(client, 'disconnect');
  const call = session.run(FAULTS_C, 'spin_forever', ['0'], { timeLimitMs: 30000 }).then(() => 'returned', (e: unknown) => e);
  await new Promise((r) => setTimeout(r, 300)); // the function is spinning on the device now
  const queued = client.heapInfo().then(() => 'answered', (e: unknown) => e);
  const killedAt = Date.now();
  emu!.kill();
  const result = await call;
  const noticedMs = Date.now() - killedAt;
  assert.ok(isDisconnected(result), `the call ended with ${String(result)}`);
  assert.ok(noticedMs < PROMPT_MS, `noticed after ${noticedMs} ms; the call's timeout is over 30 s`);
  t.diagnostic(`call failed ${noticedMs} ms after the kill: ${(result as Error).message}`);
  assert.ok(isDisconnected(await queued));
  await lost;
  assert.ok(session.loaded().every((f) => f.stale));
  await assert.rejects(session.call(spin.key, ['0']), /run it again to reload it/);

  client = await newDevice();
  await session.reconnect(client);
  assert.equal((await session.run(FAULTS_C, 'still_alive', ['1'])).returnValue, 2);
});

test('QEMU killed from outside with SIGKILL while idle: the client notices without being asked', async (t) => {
  const lost = once(client, 'disconnect');
  const qemuPid = childrenOf(emu!.pid).find((pid) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim().startsWith('qemu-system'));
  assert.ok(qemuPid, 'found the QEMU process');
  const killedAt = Date.now();
  process.kill(qemuPid, 'SIGKILL');
  const [err] = await lost;
  const noticedMs = Date.now() - killedAt;
  assert.ok(isDisconnected(err));
  assert.ok(noticedMs < PROMPT_MS, `noticed after ${noticedMs} ms`);
  t.diagnostic(`'disconnect' ${noticedMs} ms after the SIGKILL: ${(err as Error).message}`);
  assert.ok(session.loaded().every((f) => f.stale));
  await assert.rejects(client.ping(), isDisconnected);
  await emu!.whenExited;
});
