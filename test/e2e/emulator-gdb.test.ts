/**
 * Debugging uploaded code with gdb through QEMU's gdb stub: the command sequence of
 * gdbCommands() (the one the CLI prints) stops in an uploaded function and reads its registers;
 * with gdbWait the emulator waits for gdb before running any firmware code.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { DeviceClient } from '../../extension/device/client.js';
import { Emulator } from '../../extension/emulator/launcher.js';
import { gdbCommands, type GdbSessionInfo } from '../../extension/emulator/qemu-args.js';
import { discoverToolchain } from '../../toolchain/discover.js';
import { findSymbol, readElf } from '../../toolchain/elf.js';
import { loadCode } from '../../extension/session/loader.js';
import { repoRoot, scratchDir } from '../helpers/paths.js';
import { qemusUnder } from '../helpers/processes.js';

const GDB = 'gdb-multiarch';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** gdb in batch mode running the session's commands, then `extra`, then detaching. */
function runGdb(info: GdbSessionInfo, extra: string[]) {
  const cmds = ['set pagination off', 'set confirm off', ...gdbCommands(info), ...extra, 'detach'];
  const proc = spawn(GDB, ['-q', '-nx', '-batch', ...cmds.flatMap((c) => ['-ex', c])], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<string>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', () => resolve(out));
  });
  /** Resolves once gdb's output matches (the breakpoint is in place). */
  const saw = (re: RegExp) => new Promise<void>((resolve, reject) => {
    const check = () => { if (re.test(out)) { resolve(); return true; } return false; };
    if (check()) return;
    proc.stdout.on('data', () => check());
    proc.once('exit', () => { if (!check()) reject(new Error(`gdb exited before printing ${re}:\n${out}`)); });
  });
  return { proc, exited, saw };
}

const source = `
#include <stdint.h>

__attribute__((noinline)) int scale(int x)
{
    return x * 3 + 1;
}

void __p4jit_entry(const uint64_t *args, uint64_t *ret)
{
    *ret = (uint64_t)(int64_t)scale((int)args[0]);
}
`;

describe('gdb on the emulated ESP32-P4', () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  test('a breakpoint at an uploaded function hits and its argument register reads back', async () => {
    const port = await freePort();
    const emu = await Emulator.start({ gdbPort: port });
    cleanup.push(() => emu.stop());
    const client = await emu.connect();
    cleanup.push(() => client.close());

    const dir = scratchDir('emu-gdb');
    writeFileSync(join(dir, 'scale.c'), source);
    const build = { toolchain: discoverToolchain(), buildDir: dir, firmwareElf: emu.image };
    const code = await loadCode(client, { name: 'scale', sources: [join(dir, 'scale.c')], build });
    const scale = findSymbol(code.link.elf, 'scale');
    assert.ok(scale, 'scale() is in the linked code');

    const gdb = runGdb(
      { port, firmwareElf: emu.image, functionElf: code.link.elfPath, address: scale.value },
      ['info registers a0 pc'],
    );
    cleanup.push(async () => { if (gdb.proc.exitCode === null) gdb.proc.kill(); });
    await gdb.saw(/Breakpoint 1 at 0x/);

    const slots = Buffer.alloc(8);
    slots.writeBigInt64LE(7n, 0);
    const call = client.call(code.entry, slots);
    const out = await gdb.exited;
    assert.match(out, /Breakpoint 1, scale \(x=7\)/);
    assert.match(out, /^a0\s+0x7\s+7$/m);
    assert.match(out, new RegExp(`^pc\\s+0x${scale.value.toString(16)}\\b`, 'm'));
    // after gdb detached the call completes normally
    assert.equal((await call).ret.readBigInt64LE(0), 22n);
    assert.equal((await client.ping(Buffer.from('after gdb'))).toString(), 'after gdb');
  });

  test('with gdbWait the firmware does not start before gdb lets it', async () => {
    const port = await freePort();
    const emu = await Emulator.start({ gdbPort: port, gdbWait: true });
    cleanup.push(() => emu.stop());
    const main = findSymbol(readElf(emu.image), 'main');
    assert.ok(main);
    // main never returns: a breakpoint on its first instruction can only hit if nothing ran yet
    const gdb = runGdb({ port, firmwareElf: emu.image, address: main.value }, ['info registers pc']);
    cleanup.push(async () => { if (gdb.proc.exitCode === null) gdb.proc.kill(); });
    const out = await gdb.exited;
    assert.match(out, /Breakpoint 1, main \(\)/);
    const client = await DeviceClient.open(emu.port);
    cleanup.push(() => client.close());
    assert.equal((await client.ping(Buffer.from('booted'))).toString(), 'booted');
  });

  test('p4jit run --gdb: a QEMU that dies while the call waits for Enter is reported at once', async () => {
    const port = await freePort();
    const cli = spawn(process.execPath, [join(repoRoot, 'bin', 'p4jit.js'), 'run', join(repoRoot, 'test', 'fixtures', 'corpus', 'faults.c'),
      'still_alive', '1', '--emulator', '--gdb', String(port)], { stdio: ['pipe', 'pipe', 'pipe'] }); // stdin open: no Enter
    cleanup.push(async () => { if (cli.exitCode === null) cli.kill('SIGKILL'); });
    let stderr = '';
    const exited = once(cli, 'exit');
    await new Promise<void>((resolve, reject) => {
      cli.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('Press Enter to call it.')) resolve();
      });
      void exited.then(() => reject(new Error(`p4jit exited before waiting for Enter:\n${stderr}`)));
    });
    const [qemu] = qemusUnder(cli.pid!);
    assert.ok(qemu, 'found the QEMU under the CLI');
    process.kill(qemu, 'SIGKILL');
    const [code] = await exited;
    assert.equal(code, 1, stderr);
    assert.match(stderr, /p4jit: the emulated ESP32-P4 stopped while waiting for Enter: QEMU was killed \(SIGKILL\)/);
  });
});
