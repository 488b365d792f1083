/**
 * The authenticated session belongs to the host that made it (issue: another process that opened
 * the port raw, with no secret, got LIST_ALLOCS answered while an authenticated run held it, and
 * `p4jit allocs` without a secret worked after that host was killed). Requests in a session come
 * in SESSION frames MACed with a key from the challenge exchange; everything else but PING, INFO
 * and the AUTH handshake is refused, whoever sends it and however it is framed.
 */
import assert from 'node:assert/strict';
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';

import { DeviceClient } from '../../extension/device/client.js';
import { Emulator } from '../../extension/emulator/launcher.js';
import { encodeFrame } from '../../extension/protocol/codec.js';
import { Cmd, DeviceCap, Err, Flag, MallocCap } from '../../extension/protocol/constants.js';
import { u32s } from '../../extension/protocol/payloads.js';
import { encodeSealed } from '../../extension/protocol/seal.js';
import { encodeSession } from '../../extension/protocol/session.js';
import type { InjectorMessage } from '../helpers/injector.js';
import type { SessionHostMessage } from '../helpers/session-host.js';
import { repoRoot } from '../helpers/paths.js';

const SECRET = 'session-secret-0815';
const BIN = join(repoRoot, 'bin', 'p4jit.js');
const helper = (name: string) => join(repoRoot, 'out', 'test', 'helpers', `${name}.js`);
const emulators: Emulator[] = [];
const children: ChildProcess[] = [];

after(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const e of emulators) await e.stop();
});

/** The next message of a forked helper that satisfies `want`. */
function nextMessage<T>(child: ChildProcess, want: (m: T) => boolean): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: T) => {
      if (!want(m)) return;
      child.off('message', onMessage);
      resolve(m);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`helper exited (${code}) before answering`)));
  });
}

/** A host in another process, authenticated and holding one allocation. */
async function sessionHost(port: string) {
  const host = fork(helper('session-host'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(host);
  const ready = nextMessage<SessionHostMessage>(host, () => true);
  host.send({ port, secret: SECRET });
  const m = await ready;
  assert.ok('addr' in m, JSON.stringify(m));
  return { host, addr: m.addr, inSession: m.inSession };
}

async function allocsOf(host: ChildProcess): Promise<number[]> {
  const reply = nextMessage<SessionHostMessage>(host, () => true);
  host.send('list');
  const m = await reply;
  assert.ok('allocs' in m, JSON.stringify(m));
  return m.allocs;
}

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  promisify(execFile)(process.execPath, [BIN, ...args], { env: { ...process.env, P4JIT_SECRET: '', ...env }, timeout: 30000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('the authenticated session', () => {
  test('another program on the port without the secret cannot slip a command into it, however it frames it', async () => {
    const emu = await Emulator.start({ secret: SECRET });
    emulators.push(emu);
    const a = await sessionHost(emu.port);
    assert.ok(a.inSession, 'the host works in a SESSION');
    // the host holds the port but reads nothing while stopped: every reply goes to the intruder
    a.host.kill('SIGSTOP');
    const intruder = fork(helper('injector'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(intruder);
    const frames = [
      encodeFrame(Cmd.ListAllocs, Flag.Request),
      encodeFrame(Cmd.Alloc, Flag.Request, u32s(64, MallocCap['8BIT'], 4)),
      encodeFrame(Cmd.Free, Flag.Request, u32s(a.addr)),
      encodeSealed(Cmd.Free, 7, u32s(a.addr)),
      encodeSession(randomBytes(32), Cmd.Free, 8, 1000, u32s(a.addr)), // a guessed key
      encodeFrame(Cmd.AuthEnd, Flag.Request), // ending someone else's session
      encodeFrame(Cmd.Ping, Flag.Request, Buffer.from('still here')),
    ];
    const replies: Array<Extract<InjectorMessage, { cmd: number }>> = [];
    const all = new Promise<void>((resolve, reject) => {
      intruder.on('message', (m: InjectorMessage) => {
        if ('cmd' in m && replies.push(m) === frames.length) resolve();
      });
      intruder.once('exit', (code) => reject(new Error(`the intruder exited (${code}) with ${replies.length} replies`)));
    });
    intruder.send({ port: emu.port, frames: frames.map((f) => f.toString('hex')) });
    await all;
    intruder.kill();
    const refused = (cmd: number, code: number, sealed = false) => ({ cmd, flags: Flag.Error, payload: u32s(code).toString('hex'), sealed });
    assert.deepEqual(replies, [
      refused(Cmd.ListAllocs, Err.NOT_AUTHENTICATED),
      refused(Cmd.Alloc, Err.NOT_AUTHENTICATED),
      refused(Cmd.Free, Err.NOT_AUTHENTICATED),
      refused(Cmd.Free, Err.NOT_AUTHENTICATED, true), // a CRC proves nothing about who sent it
      refused(Cmd.Session, Err.CHECKSUM), // its MAC does not match: it did not run
      refused(Cmd.AuthEnd, Err.NOT_AUTHENTICATED),
      { cmd: Cmd.Ping, flags: Flag.Ok, payload: Buffer.from('still here').toString('hex'), sealed: false },
    ]);
    // the host goes on in its session, which nothing above changed
    a.host.kill('SIGCONT');
    assert.deepEqual(await allocsOf(a.host), [a.addr]);
  });

  test('a host killed in its session: the next program needs the secret, and with it takes over', async () => {
    const emu = await Emulator.start({ secret: SECRET });
    emulators.push(emu);
    const a = await sessionHost(emu.port);
    a.host.kill('SIGKILL'); // no AUTH_END; QEMU 7.2's pty does not tell the device either
    await new Promise((resolve) => a.host.once('exit', resolve));
    const without = await cli(['allocs', '--port', emu.port]);
    assert.equal(without.code, 1, without.stdout);
    assert.match(without.stderr, /^p4jit: the device requires authentication: set P4JIT_SECRET or pass --secret-file FILE$/m);
    const info = await cli(['info', '--port', emu.port]);
    assert.match(info.stdout, /^auth\s+required; not authenticated/m);
    const authed = await cli(['info', '--port', emu.port], { P4JIT_SECRET: SECRET });
    assert.match(authed.stdout, /^auth\s+required; this host is authenticated/m);
    assert.match(authed.stdout, /^link\s+SESSION frames/m);
    const withSecret = await cli(['allocs', '--port', emu.port], { P4JIT_SECRET: SECRET });
    assert.equal(withSecret.code, 0, withSecret.stderr);
    assert.match(withSecret.stdout, new RegExp(`0x${a.addr.toString(16)}`));
  });

  test('a client in a session: INFO asked in its session says it is authenticated, and close ends the session', async () => {
    const emu = await Emulator.start({ secret: SECRET });
    emulators.push(emu);
    const client = await DeviceClient.open(emu.port);
    await client.authenticate(SECRET);
    assert.ok(client.inSession);
    assert.ok(client.has(DeviceCap.Authenticated));
    await client.heapInfo();
    await client.close();
    const next = await DeviceClient.open(emu.port);
    try {
      assert.ok(!next.has(DeviceCap.Authenticated), 'AUTH_END in the session ended it');
      await assert.rejects(next.listAllocs(), /NOT_AUTHENTICATED|authenticat/);
    } finally {
      await next.close();
    }
  });
});
