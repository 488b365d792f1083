/**
 * The device client over a link that drops, flips and duplicates bytes (1 % per byte, both
 * directions, seeded), to the real emulator over its pty: random ALLOC / WRITE / READ / CALL / FREE
 * operations, each checked against a model of the device kept here.
 *
 * What each operation must do: return the right result, or fail with a typed error
 * (TimeoutError, ProtocolError, DeviceError) — never hang, never answer wrongly.
 *
 * What the protocol can and cannot promise, and how the test accounts for it:
 * - SEALED frames (the client's default with a device that offers them) carry a CRC-32 and a
 *   sequence number: the main run accepts no wrong result at all.
 * - The seed's own check is a 16-bit byte sum: one changed byte in a frame is always caught, but
 *   two can cancel out (two flips of the same bit in opposite directions do so 1 time in 16), and
 *   a frame shifted by a dropped or duplicated byte has a matching sum about 1 time in 65536.
 *   The runs without sealing therefore accept a wrong result only when a frame of the operations
 *   that produced it (its own, or the write that put the data there) carried such damage; any
 *   wrong result from a frame with one flipped bit, or from none, fails the test.
 * - A request the device executed but whose reply was lost leaves the device changed: an ALLOC
 *   leaks, a FREE or a WRITE happened. The model marks such outcomes unknown, and LIST_ALLOCS
 *   reconciles them at the end (with the faults off).
 * - An operation whose bytes all crossed intact must succeed, whatever happened before it: the
 *   client resynchronises by itself.
 *
 * On a board (npm run test:board) the sealed run goes to its port; the runs with the seed's sum
 * only do not (see SUM_ONLY).
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';

import { DeviceClient } from '../../extension/device/client.js';
import { DeviceError, DisconnectedError, ProtocolError, TimeoutError } from '../../extension/device/errors.js';
import { SerialTransport } from '../../extension/device/transport.js';
import { Cmd, Err, MallocCap } from '../../extension/protocol/constants.js';
import { JitSession } from '../../extension/session/jit-session.js';
import { emulatorOnly, startDevice, type DeviceUnderTest } from '../helpers/device.js';
import { beyondChecksum, FaultLink, mixedFaults, Prng, type FaultRates } from '../helpers/fault-link.js';
import { scratchDir } from '../helpers/paths.js';

const SUM_C = `#include <stdint.h>
int32_t sum_i32(const int32_t *v, int n)
{
    int32_t s = 0;
    for (int i = 0; i < n; i++) {
        s += v[i];
    }
    return s;
}
`;
const DATA_CAPS = MallocCap.SPIRAM | MallocCap['8BIT'];
const CALL_LIMIT_MS = 200;
/**
 * Loose bound on one operation, to catch a hang: three attempts, each a timeout (1 s, a call
 * 1.2 s) plus a resynchronisation (at most 1.8 s) and the wait for a stalled frame (0.6 s).
 */
const OP_BOUND_MS = 15000;

let emu: DeviceUnderTest;
let sumFile: string;
const buildRoot = scratchDir('faults-build');

before(async () => {
  emu = await startDevice();
  sumFile = join(scratchDir('faults-src'), 'sum.c');
  writeFileSync(sumFile, SUM_C);
});

after(async () => {
  await emu?.stop();
});

interface Buffered {
  addr: number;
  size: number;
  /** What the device holds, or null when unknown (never written, or a write whose outcome is unknown). */
  data: Buffer | null;
  /** The write that put `data` there carried damage the checksum may miss. */
  writeBeyondChecksum: boolean;
  allocBeyondChecksum: boolean;
}

interface RunReport {
  ops: number;
  correct: number;
  failed: Record<string, number>;
  /** Wrong results, each explained by a frame the checksum cannot be relied on for. */
  wrongExplained: string[];
  leakedAllocs: number;
  uncertainFrees: number;
  seconds: number;
  slowestOpMs: number;
  faults: { toDevice: number; toHost: number; bytes: number };
  retries: number;
  resyncs: number;
  nudges: number;
}

const errorLabel = (e: unknown) => e instanceof DeviceError ? `DeviceError ${e.codeName}` : (e as Error).name;

async function runFaultyOps(t: TestContext, opts: { seed: number; rates: FaultRates; ops: number; seal: boolean }): Promise<RunReport> {
  const transport = await SerialTransport.open(emu.port);
  const link = new FaultLink(transport, { seed: opts.seed, toDevice: opts.rates, toHost: opts.rates });
  link.enabled = false; // setup and reconciliation run on a clean link
  // 1 s timeouts: far above a reply's normal few milliseconds even on a loaded machine (an
  // operation that crossed intact must not time out), short enough to keep the run brief
  const client = await DeviceClient.attach(link, { timeoutMs: 1000, callSlackMs: 1000, resyncIntervalMs: 600, nudgeMs: 100, replyStallMs: 250, seal: opts.seal });
  assert.equal(client.sealed, opts.seal, 'the emulator offers SEALED frames');
  const session = new JitSession(client, {
    optimization: '-O2', extraFlags: [], codeCaps: MallocCap.EXEC | DATA_CAPS, dataCaps: DATA_CAPS,
    callTimeLimitMs: 0, linkFolderSources: false, buildRoot,
  });
  try {
    const heapBefore = await client.heapInfo();
    const allocsBefore = await client.listAllocs();
    const fn = await session.load(sumFile, 'sum_i32');
    const rng = new Prng(opts.seed * 7 + 1);
    const live = new Map<number, Buffered>();
    const uncertainFrees = new Set<number>();
    let allocsUnknown = 0;
    const report: RunReport = {
      ops: opts.ops, correct: 0, failed: {}, wrongExplained: [], leakedAllocs: 0, uncertainFrees: 0,
      seconds: 0, slowestOpMs: 0, faults: { toDevice: 0, toHost: 0, bytes: 0 }, retries: 0, resyncs: 0, nudges: 0,
    };
    const stats0 = { ...client.stats };
    const t0 = performance.now();
    link.enabled = true;

    // faults of the previous operation: its aftermath (the link resynchronising) belongs to it
    let previousFaulted = false;
    for (let i = 0; i < opts.ops; i++) {
      const buffers = [...live.values()];
      const known = buffers.filter((b) => b.data !== null);
      const roll = rng.next();
      const kind = buffers.length === 0 || (roll < 0.15 && buffers.length < 6) ? 'alloc'
        : roll < 0.3 ? 'free'
        : roll < 0.55 || known.length === 0 ? 'write'
        : roll < 0.8 ? 'read' : 'call';
      const target = kind === 'read' || kind === 'call' ? known[rng.below(known.length)] : buffers[rng.below(buffers.length)];
      const mark = link.frames.length;
      const faultsBefore = link.toDevice.faults + link.toHost.faults;
      const started = performance.now();
      // wrong = a result that differs from the model; damaged = this operation's frames (request
      // or reply) carried damage the checksum may miss, so could explain it
      let wrong: string | null = null;
      const opCmd = { alloc: Cmd.Alloc, free: Cmd.Free, write: Cmd.WriteMem, read: Cmd.ReadMem, call: Cmd.Call }[kind];
      // with sealing nothing explains a wrong result
      const ownFramesDamaged = () => !opts.seal && link.framesSince(mark).some((f) => f.cmd === opCmd && beyondChecksum(f));
      let damaged = ownFramesDamaged;
      try {
        switch (kind) {
          case 'alloc': {
            const size = 8 + 4 * rng.below(9); // 8..40 bytes: most frames cross a 1 % link intact
            const align = [4, 8, 16][rng.below(3)];
            const addr = await client.alloc(size, DATA_CAPS, align);
            const overlaps = buffers.some((b) => addr < b.addr + b.size && b.addr < addr + size);
            if (overlaps || addr % align !== 0) wrong = `ALLOC returned 0x${addr.toString(16)} (overlapping or misaligned)`;
            live.set(addr, { addr, size, data: null, writeBeyondChecksum: false, allocBeyondChecksum: damaged() });
            break;
          }
          case 'free':
            live.delete(target.addr);
            uncertainFrees.add(target.addr); // until the device confirms
            await client.free(target.addr);
            uncertainFrees.delete(target.addr);
            break;
          case 'write': {
            const data = Buffer.from(Array.from({ length: target.size }, () => rng.below(256)));
            target.data = null; // unknown until confirmed
            await client.write(target.addr, data);
            target.data = data;
            target.writeBeyondChecksum = damaged();
            break;
          }
          case 'read': {
            const off = rng.below(target.size);
            const len = 1 + rng.below(target.size - off);
            const got = await client.read(target.addr + off, len);
            if (!got.equals(target.data!.subarray(off, off + len))) wrong = `READ of ${len} bytes differs`;
            const explainedByWrite = target.writeBeyondChecksum;
            damaged = () => explainedByWrite || ownFramesDamaged();
            break;
          }
          case 'call': {
            const n = target.size / 4;
            const slots = Buffer.alloc(16);
            slots.writeBigUInt64LE(BigInt(target.addr), 0);
            slots.writeBigInt64LE(BigInt(n), 8);
            const r = await client.call(fn.entry, slots, { timeLimitMs: CALL_LIMIT_MS });
            let sum = 0;
            for (let k = 0; k < n; k++) sum = (sum + target.data!.readInt32LE(4 * k)) | 0;
            if (r.ret.readInt32LE(0) !== sum) wrong = `CALL returned ${r.ret.readInt32LE(0)}, expected ${sum}`;
            const explainedByWrite = target.writeBeyondChecksum;
            damaged = () => explainedByWrite || ownFramesDamaged();
            break;
          }
        }
        if (wrong === null) report.correct++;
      } catch (e) {
        assert.ok(e instanceof TimeoutError || e instanceof ProtocolError || e instanceof DeviceError,
          `operation ${i} (${kind}) failed with an untyped error: ${(e as Error).stack}`);
        assert.ok(!(e instanceof DisconnectedError), 'the link never went away');
        const refusedDamaged = e instanceof DeviceError && (e.code === Err.CHECKSUM || e.code === Err.PAYLOAD_TOO_LARGE);
        if (e instanceof DeviceError && !refusedDamaged) {
          // any other refusal means the device saw a request we did not send
          wrong = `${kind} refused: ${e.message}`;
        } else {
          report.failed[errorLabel(e)] = (report.failed[errorLabel(e)] ?? 0) + 1;
        }
        if (kind === 'alloc' && !refusedDamaged) allocsUnknown++; // the device may hold it: reconciled below
        const clean = link.toDevice.faults + link.toHost.faults === faultsBefore;
        const inherited = previousFaulted && e instanceof TimeoutError && /resynchronising/.test((e as Error).message);
        assert.ok(!clean || inherited, `operation ${i} (${kind}) crossed the link intact but failed: ${(e as Error).message}`);
      }
      previousFaulted = link.toDevice.faults + link.toHost.faults !== faultsBefore;
      const ms = performance.now() - started;
      report.slowestOpMs = Math.max(report.slowestOpMs, ms);
      assert.ok(ms < OP_BOUND_MS, `operation ${i} (${kind}) took ${ms.toFixed(0)} ms`);
      if (wrong !== null) {
        assert.ok(damaged(), `operation ${i} (${kind}) gave a wrong result through frames the checksum protects: ${wrong}`);
        report.wrongExplained.push(`#${i} ${wrong}`);
        // the device now differs from the model: forget what it holds there
        if (target) target.data = null;
      }
    }

    link.enabled = false;
    report.seconds = (performance.now() - t0) / 1000;
    report.faults = { toDevice: link.toDevice.faults, toHost: link.toHost.faults, bytes: link.toDevice.counts.bytes + link.toHost.counts.bytes };
    report.retries = client.stats.retries - stats0.retries;
    report.resyncs = client.stats.resyncs - stats0.resyncs;
    report.nudges = client.stats.nudges - stats0.nudges;

    // the session goes on over the same device: nothing restarted
    assert.equal((await client.ping(Buffer.from('after the storm'))).toString(), 'after the storm');

    // reconcile: what the device holds against what the model knows
    const listed = (await client.listAllocs()).filter((a) => !allocsBefore.some((b) => b.addr === a.addr) && a.addr !== fn.addr);
    for (const b of live.values()) {
      const entry = listed.find((a) => a.addr === b.addr);
      if (!entry || entry.size !== b.size) {
        assert.ok(!opts.seal && (b.allocBeyondChecksum || report.wrongExplained.length > 0), `allocation 0x${b.addr.toString(16)} (${b.size} bytes) is not on the device as allocated`);
        report.wrongExplained.push(`allocation 0x${b.addr.toString(16)} not as allocated`);
      }
    }
    const extras = listed.filter((a) => !live.has(a.addr));
    report.uncertainFrees = extras.filter((a) => uncertainFrees.has(a.addr)).length;
    report.leakedAllocs = extras.length - report.uncertainFrees;
    assert.ok(report.leakedAllocs <= allocsUnknown,
      `${report.leakedAllocs} allocations leaked, but only ${allocsUnknown} ALLOCs had an unknown outcome`);
    for (const a of listed) await client.free(a.addr);
    // and the session on top of it goes on too
    assert.equal((await session.run(sumFile, 'sum_i32', ['[1, 2, 3, 4]', '4'])).returnValue, 10);
    await session.freeAll();
    assert.deepEqual(await client.heapInfo(), heapBefore, 'the device heap is back where it started');

    t.diagnostic(`${opts.ops} ops in ${report.seconds.toFixed(1)} s: ${report.correct} correct, failed ${JSON.stringify(report.failed)}, ` +
      `wrong-but-explained ${report.wrongExplained.length} ${JSON.stringify(report.wrongExplained)}`);
    t.diagnostic(`faults: ${report.faults.toDevice} to the device, ${report.faults.toHost} to the host over ${report.faults.bytes} bytes; ` +
      `${report.retries} retries, ${report.resyncs} resyncs, ${report.nudges} nudges; ALLOC replies lost (leaks reclaimed) ${report.leakedAllocs}, ` +
      `FREE outcomes unknown and not done ${report.uncertainFrees}; slowest op ${report.slowestOpMs.toFixed(0)} ms`);
    return report;
  } finally {
    await client.close();
  }
}

/** P4JIT_FAULT_OPS shortens (or lengthens) the main run; 1000 take about 2.5 minutes here. */
const OPS = Number(process.env.P4JIT_FAULT_OPS ?? 1000);

test(`${OPS} random operations at 1 % per-byte faults, sealed: right results or typed errors, never a wrong one, and recovery`, async (t) => {
  const r = await runFaultyOps(t, { seed: 20240611, rates: mixedFaults(0.01), ops: OPS, seal: true });
  const failures = Object.values(r.failed).reduce((a, b) => a + b, 0);
  assert.deepEqual(r.wrongExplained, []);
  assert.equal(r.correct + failures, r.ops);
  assert.ok(r.correct > r.ops / 2, 'most operations get through a 1 % link');
  assert.ok(failures > 0 && r.faults.toDevice > 0 && r.faults.toHost > 0, 'the link really was faulty');
});

/** A damaged CALL that passes the 16-bit sum may run at a wrong address and fault: a board resets. */
const SUM_ONLY = emulatorOnly('without SEALED frames a damaged CALL can pass the seed\'s sum and fault, which resets a board');
for (const [name, rates] of [['drops', { drop: 0.01 }], ['flips', { flip: 0.01 }], ['duplicates', { dup: 0.01 }]] as const) {
  test(`100 random operations with 1 % ${name} alone, the seed's checksum only`, SUM_ONLY, async (t) => {
    const r = await runFaultyOps(t, { seed: 7 + name.length, rates, ops: 100, seal: false });
    assert.ok(r.correct > r.ops / 2);
  });
}
