/**
 * JIT code that writes past its buffers, through the CLI on one emulated ESP32-P4: the call that
 * did it ends in a typed overrun report naming the parameter, and the device goes on answering
 * every command with its heap exact (the reproductions of an overrun that used to corrupt the
 * heap's inline headers and hang or reset the device at a later ALLOC).
 *
 * On a board (npm run test:board) only the overrun within the guard bytes runs: ESP-IDF's heap
 * keeps its headers inline, and a write 400 KB past a buffer there is the damage no guard can
 * undo (the component's README, "Overruns").
 */
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { execa } from 'execa';

import { ensureFirmwareImage } from '../../extension/emulator/image.js';
import { emulatorOnly, onBoard, startDevice, type DeviceUnderTest } from '../helpers/device.js';
import { fixture, repoRoot, scratchDir } from '../helpers/paths.js';

const BIN = join(repoRoot, 'bin', 'p4jit.js');
const SOURCE = fixture('overrun.c');

let emu: DeviceUnderTest;
let image: string | undefined;
let dir: string;
const onEmu = (args: string[]) => execa(process.execPath, [BIN, ...args, '--port', emu.port], { reject: false, cwd: repoRoot });
const run = (fn: string, args: string[]) => onEmu(['run', SOURCE, fn, ...args, ...(image ? ['--firmware-elf', image] : []), '--json']);

async function heap(): Promise<unknown> {
  const r = await onEmu(['heap', '--json']);
  assert.equal(r.exitCode, 0, r.stderr);
  return JSON.parse(r.stdout);
}

async function alloc(size: number): Promise<{ addr?: number; error?: string }> {
  const r = await onEmu(['alloc', String(size), '--json']);
  return r.exitCode === 0 ? { addr: JSON.parse(r.stdout).addr } : { error: r.stderr };
}

/** Every command still answers, and nothing is left allocated. */
async function assertDeviceWell(): Promise<void> {
  for (const cmd of ['ping', 'info', 'allocs']) {
    const r = await onEmu([cmd]);
    assert.equal(r.exitCode, 0, `${cmd}: ${r.stderr}`);
  }
  assert.equal((await onEmu(['allocs'])).stdout.trim(), 'no allocations');
}

before(async () => {
  dir = scratchDir('overrun');
  if (!onBoard) {
    image = join(dir, 'p4jit-emu.elf');
    copyFileSync(await ensureFirmwareImage(), image);
  }
  emu = await startDevice({ image });
  image ??= emu.image;
});

after(async () => {
  await emu?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('overruns are caught by the call that made them', () => {
  const FAR_PAST = emulatorOnly('400 KB past a buffer: on a board that is ESP-IDF\'s inline heap headers and other data, beyond any guard');
  test('zfill of 100000 ints into a 4-int buffer: an overrun of p, then 100 and 5000 bytes allocate, heap exact', FAR_PAST, async () => {
    const base = await heap();
    const r = await run('zfill', ['[1]*4', '100000']);
    assert.equal(r.exitCode, 1, `expected an overrun report, got: ${r.stdout}${r.stderr}`);
    const j = JSON.parse(r.stdout);
    assert.equal(j.overrun.parameter, 'p');
    assert.equal(j.overrun.size, 16);
    assert.ok(j.overrun.after >= 32, `reach past the end: ${j.overrun.after}`);
    assert.equal(j.overrun.before, 0);
    assert.match(r.stderr, /zfill wrote past the end of argument 'p' \(16 bytes\): at least \d+ bytes beyond it/);

    assert.deepEqual(await heap(), base, 'the heap is back to its figures before the run');
    const small = await alloc(100);
    const mid = await alloc(5000);
    assert.ok(small.addr && mid.addr, `${small.error ?? ''}${mid.error ?? ''}`);
    for (const a of [small.addr!, mid.addr!]) assert.equal((await onEmu(['free', String(a)])).exitCode, 0);
    assert.deepEqual(await heap(), base);
    await assertDeviceWell();
  });

  test('0xAB over 400000 bytes, then 100, 5000, 200000 and 16 MiB twice: each ALLOC answered, heap exact', FAR_PAST, async () => {
    const base = await heap();
    const r = await run('abfill', ['[0]*16', '400000']);
    assert.equal(r.exitCode, 1, `expected an overrun report, got: ${r.stdout}${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).overrun.parameter, 'p');

    const got = [];
    for (const size of [100, 5000, 200000, 16 << 20]) {
      const a = await alloc(size);
      assert.ok(a.addr, `ALLOC ${size}: ${a.error}`);
      got.push(a.addr!);
    }
    // 32 MiB of PSRAM hold one 16 MiB block beside the others, not two: a clear refusal
    const second = await alloc(16 << 20);
    assert.equal(second.addr, undefined);
    assert.match(second.error!, /ALLOC_FAIL/);
    for (const a of got) assert.equal((await onEmu(['free', String(a)])).exitCode, 0);
    assert.deepEqual(await heap(), base);
    await assertDeviceWell();
  });

  test('one int past the end of in, inside the argument buffer: named by the host, return value kept', async () => {
    const r = await run('one_past', ['[5,6,7]', '3', '[0]']);
    assert.equal(r.exitCode, 1, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.overrun.parameter, 'in');
    assert.equal(j.overrun.after, 4);
    assert.equal(j.return, 3);
    assert.deepEqual(j.arrays.out, [3]);
    assert.match(r.stderr, /one_past wrote past the end of argument 'in' \(12 bytes\): 4 bytes beyond it/);
    await assertDeviceWell();
  });
});
