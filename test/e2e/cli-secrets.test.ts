/**
 * The CLI's secret: taken from P4JIT_SECRET or --secret-file (never required in argv; --secret
 * still works and warns that `ps` shows it), used by `p4jit emulator` too, which says whether the
 * device is protected. The emulator's private work folder loses the secret once the firmware has
 * read it and goes when QEMU ends however it ends. PING and INFO need no secret.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';

import { DeviceClient } from '../../extension/device/client.js';
import { Emulator } from '../../extension/emulator/launcher.js';
import { DeviceCap } from '../../extension/protocol/constants.js';
import { repoRoot, scratchDir } from '../helpers/paths.js';
import { qemusUnder } from '../helpers/processes.js';

const BIN = join(repoRoot, 'bin', 'p4jit.js');
const SECRET = 'topsecret-4711';
const dir = scratchDir('cli-secrets');
const emulators: Emulator[] = [];
const cleanups: Array<() => void> = [];

after(async () => {
  for (const c of cleanups) c();
  for (const e of emulators) await e.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Result { code: number | null; stdout: string; stderr: string }

function launch(args: string[], env: NodeJS.ProcessEnv = {}) {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, P4JIT_SECRET: '', ...env } });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<Result>((resolve) => proc.once('close', (code) => resolve({ code, stdout, stderr })));
  cleanups.push(() => proc.kill('SIGKILL'));
  return { proc, exited, output: () => ({ stdout, stderr }) };
}

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => launch(args, env).exited;

/** Starts `p4jit emulator` and waits for its port. */
async function cliEmulator(args: string[], env: NodeJS.ProcessEnv = {}) {
  const run = launch(['emulator', ...args], env);
  const port = await new Promise<string>((resolve, reject) => {
    // the port (stdout) and whether it is protected (stderr) both printed
    const check = () => {
      const m = /emulated ESP32-P4 on (\S+)/.exec(run.output().stdout);
      if (m && /device (requires|runs)/.test(run.output().stderr)) resolve(m[1]);
    };
    run.proc.stdout.on('data', check);
    run.proc.stderr.on('data', check);
    void run.exited.then((r) => reject(new Error(`p4jit emulator exited: ${r.stderr}`)));
  });
  return { ...run, port };
}

/** The emulator's work folder, from the options file QEMU was given. */
function workDirOf(qemuPid: number): string {
  const args = readFileSync(`/proc/${qemuPid}/cmdline`, 'utf8').split('\0');
  const loader = args.find((a) => a.startsWith('loader,file='));
  assert.ok(loader, 'QEMU has an options loader');
  return dirname(/file=([^,]+)/.exec(loader)![1]);
}

async function until(what: string, check: () => boolean, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function locked(port: string): Promise<boolean> {
  const client = await DeviceClient.open(port);
  try {
    return client.has(DeviceCap.AuthRequired) && !client.has(DeviceCap.Authenticated);
  } finally {
    await client.close();
  }
}

describe('p4jit emulator and its secret', () => {
  test('P4JIT_SECRET protects it, and it says so; the secret is neither on its command line nor left on disk', async () => {
    const emu = await cliEmulator([], { P4JIT_SECRET: SECRET });
    assert.match(emu.output().stderr, /^p4jit: the device requires authentication with the secret from P4JIT_SECRET$/m);
    assert.ok(await locked(emu.port), 'a client without the secret finds it locked');
    const [qemu] = qemusUnder(emu.proc.pid!);
    assert.ok(!readFileSync(`/proc/${qemu}/cmdline`, 'utf8').includes(SECRET));
    const work = workDirOf(qemu);
    assert.equal(statSync(work).mode & 0o777, 0o700, 'the work folder is private');
    assert.ok(!existsSync(join(work, 'options.bin')), 'the options block (with the secret) is gone once the firmware has booted');
    const heap = await cli(['heap', '--port', emu.port], { P4JIT_SECRET: SECRET });
    assert.equal(heap.code, 0, heap.stderr);
    emu.proc.kill('SIGINT');
    await emu.exited;
    assert.ok(!existsSync(work), 'Ctrl+C removes the work folder');
  });

  test('without a secret it says the device runs unprotected', async () => {
    const emu = await cliEmulator([]);
    assert.match(emu.output().stderr, /^p4jit: the device runs UNPROTECTED: any program that opens its port can use it \(set P4JIT_SECRET or pass --secret-file FILE to require a secret\)$/m);
    assert.equal(await locked(emu.port), false);
    emu.proc.kill('SIGTERM');
    await emu.exited;
  });

  test('--secret-file gives the secret; --secret works but warns that ps shows it; none: a clear refusal', async () => {
    const file = join(dir, 'secret.txt');
    writeFileSync(file, `${SECRET}\n`, { mode: 0o600 });
    const emu = await cliEmulator(['--secret-file', file]);
    assert.match(emu.output().stderr, /requires authentication with the secret from --secret-file .*secret\.txt/);
    assert.ok(await locked(emu.port));
    const fromFile = await cli(['heap', '--port', emu.port, '--secret-file', file]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal(fromFile.stderr, '');
    const fromArgv = await cli(['heap', '--port', emu.port, '--secret', SECRET]);
    assert.equal(fromArgv.code, 0, fromArgv.stderr);
    assert.match(fromArgv.stderr, /^p4jit: --secret shows the secret to every user of this machine \(ps, \/proc\): prefer P4JIT_SECRET or --secret-file FILE$/m);
    const none = await cli(['heap', '--port', emu.port]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^p4jit: the device requires authentication: set P4JIT_SECRET or pass --secret-file FILE$/m);
    chmodSync(file, 0o644);
    const open = await cli(['heap', '--port', emu.port, '--secret-file', file]);
    assert.equal(open.code, 0, open.stderr);
    assert.match(open.stderr, /the secret file .*secret\.txt can be read by other users: chmod 600/);
    const missing = await cli(['heap', '--port', emu.port, '--secret-file', join(dir, 'nope.txt')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read the secret file .*nope\.txt: ENOENT/);
    emu.proc.kill('SIGINT');
    await emu.exited;
  });

  test('ping and info answer without a secret (the protocol allows PING and INFO); info says the device is locked', async () => {
    const emu = await Emulator.start({ secret: SECRET });
    emulators.push(emu);
    const ping = await cli(['ping', '--port', emu.port]);
    assert.equal(ping.code, 0, ping.stderr);
    assert.match(ping.stdout, /answered in/);
    const info = await cli(['info', '--port', emu.port]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /^auth\s+required; not authenticated/m);
    const authed = await cli(['info', '--port', emu.port], { P4JIT_SECRET: SECRET });
    assert.match(authed.stdout, /^auth\s+required; this host is authenticated/m);
  });
});

describe('on a terminal', () => {
  test('a device that needs the secret and none given: the CLI asks for it without echoing it', async () => {
    const emu = await Emulator.start({ secret: SECRET });
    emulators.push(emu);
    // `script` gives the CLI a real terminal (a pty), as a person at a shell would have
    const proc = spawn('script', ['-qec', `'${process.execPath}' '${BIN}' heap --port ${emu.port}`, '/dev/null'],
      { cwd: dir, env: { ...process.env, P4JIT_SECRET: '' } });
    cleanups.push(() => proc.kill('SIGKILL'));
    let out = '';
    const exited = new Promise<number | null>((resolve) => proc.once('close', resolve));
    await new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes(`secret for ${emu.port}: `)) resolve();
      });
      void exited.then(() => reject(new Error(`exited without asking: ${out}`)));
    });
    proc.stdin.write(`${SECRET}\r`);
    assert.equal(await exited, 0, out);
    assert.match(out, /PSRAM\s+\d+ free/);
    assert.ok(!out.includes(SECRET), 'the secret was not echoed');
  });
});

describe('the emulator\'s work folder never outlives QEMU', () => {
  test('QEMU killed: the folder goes with it', async () => {
    const emu = await Emulator.start({ secret: SECRET });
    emulators.push(emu);
    const work = workDirOf(emu.qemuPid!);
    assert.ok(existsSync(work));
    emu.kill(); // SIGKILL to QEMU, as a crash
    await emu.whenExited;
    assert.ok(!existsSync(work), 'removed although nobody called stop()');
  });

  test('the program that started it SIGKILLed: QEMU and the folder go', async () => {
    const emu = await cliEmulator([], { P4JIT_SECRET: SECRET });
    const [qemu] = qemusUnder(emu.proc.pid!);
    const work = workDirOf(qemu);
    emu.proc.kill('SIGKILL');
    await emu.exited;
    await until('QEMU ended and its folder removed', () => !existsSync(`/proc/${qemu}`) && !existsSync(work));
  });
});
