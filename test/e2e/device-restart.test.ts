/**
 * A device that restarts, or stops answering, under the host's feet. A restart (here: JIT code
 * that resets the emulated board) is reported by the host at its next command — "the device
 * restarted: its allocations are gone" — never as a silent loss; a device hung by code that
 * disabled interrupts is reported as such, with how to restart it.
 */
import assert from 'node:assert/strict';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { execa } from 'execa';

import { DeviceClient } from '../../extension/device/client.js';
import { DeviceRestartedError, DeviceUnresponsiveError } from '../../extension/device/errors.js';
import { ensureFirmwareImage } from '../../extension/emulator/image.js';
import { Emulator } from '../../extension/emulator/launcher.js';
import { Cmd, Flag, MallocCap } from '../../extension/protocol/constants.js';
import { encodeFrame } from '../../extension/protocol/codec.js';
import { u32s } from '../../extension/protocol/payloads.js';
import { JitSession } from '../../extension/session/jit-session.js';
import { fixture, repoRoot, scratchDir } from '../helpers/paths.js';

const BIN = join(repoRoot, 'bin', 'p4jit.js');
const SOURCE = fixture('restart.c');
const DATA_CAPS = MallocCap.SPIRAM | MallocCap['8BIT'];

let dir: string;
let image: string;
const running: Emulator[] = [];

async function emulator(): Promise<Emulator> {
  const emu = await Emulator.start({ image });
  running.push(emu);
  return emu;
}

/** The CLI, remembering what it left on devices in this file's own state folder. */
const p4jit = (args: string[]) => execa(process.execPath, [BIN, ...args], { reject: false, cwd: repoRoot, env: { XDG_STATE_HOME: join(dir, 'state') } });
/** RV32: *(uint32_t *)0x100000 = 0x7777 (QEMU virt's reset), then j . */
const RESET_CODE = '37 05 10 00 b7 75 00 00 93 85 75 77 23 20 b5 00 6f 00 00 00';

function session(client: DeviceClient): JitSession {
  return new JitSession(client, {
    optimization: '-O2', extraFlags: [], codeCaps: MallocCap.EXEC | DATA_CAPS, dataCaps: DATA_CAPS,
    callTimeLimitMs: 0, linkFolderSources: false, buildRoot: join(dir, 'build'), firmwareElf: image,
  });
}

before(async () => {
  dir = scratchDir('restart');
  image = join(dir, 'p4jit-emu.elf');
  copyFileSync(await ensureFirmwareImage(), image);
});

after(async () => {
  for (const e of running) await e.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a restart during a call: the CLI says so, and the device answers afterwards with nothing allocated', async () => {
  const emu = await emulator();
  const r = await p4jit(['run', SOURCE, 'reset_board', '--port', emu.port, '--firmware-elf', image]);
  assert.equal(r.exitCode, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /the device restarted during CALL \([^)]+\): its allocations are gone/);
  const allocs = await p4jit(['allocs', '--port', emu.port]);
  assert.equal(allocs.exitCode, 0, allocs.stderr);
  assert.equal(allocs.stdout.trim(), 'no allocations');
});

test('a restart between two commands of one client: the next command reports it, the session reloads', async () => {
  const emu = await emulator();
  const client = await emu.connect();
  try {
    const s = session(client);
    const restarted: unknown[] = [];
    client.on('restarted', (e) => restarted.push(e));
    const data = await client.alloc(64, DATA_CAPS);
    const fn = await s.load(SOURCE, 'reset_board');
    // another program writes to the same port and runs the reset; this client sends nothing meanwhile
    writeFileSync(emu.port, encodeFrame(Cmd.Call, Flag.Request, u32s(fn.entry, 0)));
    const bootBefore = client.info!.bootId;
    await assert.rejects(client.free(data), (e) => {
      assert.ok(e instanceof DeviceRestartedError, String(e));
      assert.match(e.message, /the device restarted during FREE \([^)]+\): its allocations are gone/);
      return true;
    });
    assert.equal(restarted.length, 1);
    assert.notEqual(client.info!.bootId, bootBefore);
    assert.ok(s.loaded().every((f) => f.stale), 'what was loaded is known to be gone');
    assert.deepEqual(await client.listAllocs(), []);
    // the next run loads the function again (it is not called at a dead address)
    const again = await s.load(SOURCE, 'irq_off_spin');
    assert.equal(again.stale, false);
  } finally {
    await client.close();
  }
});

test('a restart between two CLI commands: the next one says the allocations it held are gone, once', async () => {
  const emu = await emulator();
  const on = (args: string[]) => p4jit([...args, '--port', emu.port]);
  assert.equal((await on(['alloc', '100'])).exitCode, 0);
  const code = await on(['alloc', '20', '--caps', 'EXEC', '--json']);
  assert.equal(code.exitCode, 0, code.stderr);
  const addr: number = JSON.parse(code.stdout).addr;
  assert.equal((await on(['write', String(addr), RESET_CODE])).exitCode, 0);
  // another program on the port runs it while no p4jit command is connected
  writeFileSync(emu.port, encodeFrame(Cmd.Exec, Flag.Request, u32s(addr)));
  const r = await on(['allocs']);
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stderr, /the device on \S+ restarted since the last command \([^)]+\): the 2 allocations it held are gone/);
  assert.equal(r.stdout.trim(), 'no allocations');
  const again = await on(['allocs']);
  assert.equal(again.stderr, '', 'said once');
});

test('interrupts off, then a spin: the call says the device stopped answering and how to restart it', async () => {
  const emu = await emulator();
  const r = await p4jit(['run', SOURCE, 'irq_off_spin', '--port', emu.port, '--firmware-elf', image, '--time-limit', '300']);
  assert.equal(r.exitCode, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /the device stopped answering during CALL .*restart the emulated ESP32-P4/);
  // a later command: no answer, and the same hint rather than only "is it P4-JIT firmware?"
  const ping = await p4jit(['ping', '--port', emu.port]);
  assert.equal(ping.exitCode, 1);
  assert.match(ping.stderr, /If it stopped answering during a call .*restart it/);
});

test('the same on an emulator the CLI started itself: it goes with the command, nothing to restart by hand', async () => {
  const r = await p4jit(['run', SOURCE, 'irq_off_spin', '--emulator', '--time-limit', '300']);
  assert.equal(r.exitCode, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /the device stopped answering during CALL .*started for this command is stopped with it/);
});

test('a long-lived client: the hung call fails typed, and the session forgets what it loaded', async () => {
  const emu = await emulator();
  const client = await emu.connect();
  try {
    const s = session(client);
    let unresponsive = 0;
    client.on('unresponsive', () => unresponsive++);
    await assert.rejects(s.run(SOURCE, 'irq_off_spin', [], { timeLimitMs: 300 }), (e) => e instanceof DeviceUnresponsiveError);
    assert.equal(unresponsive, 1);
    assert.ok(s.loaded().every((f) => f.stale));
  } finally {
    await client.close();
  }
});
