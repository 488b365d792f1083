/**
 * Soak: N load / run / free cycles of a real function (an array argument, so every run also
 * writes the argument arena and reads the changed array back) through a JitSession. The device
 * heap must come back to exactly where it started with nothing allocated, and the host's memory
 * must not grow with N. N comes from P4JIT_SOAK_CYCLES (default: a count that runs in well under
 * a minute here). On a board (npm run test:board) it also exercises the cache maintenance of code
 * loaded again and again into freed memory.
 */
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, test } from 'node:test';

import type { DeviceClient } from '../../extension/device/client.js';
import { MallocCap } from '../../extension/protocol/constants.js';
import { JitSession } from '../../extension/session/jit-session.js';
import { startDevice, type DeviceUnderTest } from '../helpers/device.js';
import { fixture, scratchDir } from '../helpers/paths.js';

const CYCLES = Number(process.env.P4JIT_SOAK_CYCLES ?? 150);
const ARRAYS_C = fixture('corpus/arrays.c');
const DATA_CAPS = MallocCap.SPIRAM | MallocCap['8BIT'];
/**
 * Loose bound on the host's memory growth over the whole soak, after garbage collection: a leak
 * of even 2 KB per cycle would cross it at 10,000 cycles; what the session keeps (the last 50
 * results, caches of builds) stays far below it.
 */
const HEAP_GROWTH_LIMIT = 16 << 20;

/** A garbage collection on demand, also when node was started without --expose-gc. */
function collector(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

let emu: DeviceUnderTest;
let client: DeviceClient;

before(async () => {
  emu = await startDevice();
  client = await emu.connect();
});

after(async () => {
  await client?.close();
  await emu?.stop();
});

test(`soak: ${CYCLES} load / run / free cycles leave the device heap and the host memory as they were`, async (t) => {
  assert.ok(Number.isInteger(CYCLES) && CYCLES > 0, 'P4JIT_SOAK_CYCLES is a positive whole number');
  const session = new JitSession(client, {
    optimization: '-O2', extraFlags: [], codeCaps: MallocCap.EXEC | DATA_CAPS, dataCaps: DATA_CAPS, callTimeLimitMs: 0,
    linkFolderSources: false, buildRoot: scratchDir('soak-build'),
  });
  const gc = collector();
  const hostMemory = () => {
    gc?.();
    return gc ? process.memoryUsage().heapUsed : process.memoryUsage().rss;
  };
  const heapBefore = await client.heapInfo();
  assert.deepEqual(await client.listAllocs(), []);

  const values = [5, -3, 120, -128, 7, 0, 99, -1];
  const expectedSum = values.reduce((a, b) => a + b, 0);
  const warmUp = Math.min(20, CYCLES);
  let memoryAfterWarmUp = 0;
  const t0 = performance.now();
  for (let i = 0; i < CYCLES; i++) {
    if (i === warmUp) memoryAfterWarmUp = hostMemory(); // caches filled, code paths compiled
    const fn = await session.load(ARRAYS_C, 'negate_i8');
    const r = await session.run(ARRAYS_C, 'negate_i8', [`[${values.join(', ')}]`, String(values.length)]);
    assert.equal(r.returnValue, expectedSum, `cycle ${i}`);
    assert.deepEqual(r.arrays.v, values.map((v) => (v === -128 ? -128 : 0 - v || 0)), `cycle ${i}: the array came back negated`);
    await session.free(fn.key);
  }
  const seconds = (performance.now() - t0) / 1000;
  const memoryAtEnd = hostMemory();
  await session.freeAll(); // the argument arena, kept between runs

  assert.deepEqual(await client.listAllocs(), [], 'nothing is left allocated on the device');
  assert.deepEqual(await client.heapInfo(), heapBefore, 'the device heap is exactly where it started');
  const growth = CYCLES > warmUp ? memoryAtEnd - memoryAfterWarmUp : 0;
  t.diagnostic(`${CYCLES} cycles in ${seconds.toFixed(1)} s (${((seconds * 1000) / CYCLES).toFixed(1)} ms per cycle); ` +
    `host ${gc ? 'heap used after GC' : 'RSS'} grew ${(growth / 1024).toFixed(0)} KiB after the first ${warmUp} cycles ` +
    `(${(memoryAfterWarmUp / 1048576).toFixed(1)} → ${(memoryAtEnd / 1048576).toFixed(1)} MiB)`);
  assert.ok(growth < (gc ? HEAP_GROWTH_LIMIT : 4 * HEAP_GROWTH_LIMIT), `the host's memory grew by ${growth} bytes`);
});
