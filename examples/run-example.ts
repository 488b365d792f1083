/**
 * npm start: boots the emulated ESP32-P4, compiles examples/dsp.c, runs two of its functions with
 * arguments, checks each result against the same computation done here, prints the heap, and
 * shuts the emulator down. Exit status 0 only when every result is right.
 */
import { join } from 'node:path';

import { describeResult } from '../extension/session/format.js';
import { Emulator } from '../extension/emulator/launcher.js';
import { defaultSettings } from '../extension/session/defaults.js';
import { JitSession } from '../extension/session/jit-session.js';
import { packageRoot } from '../extension/util/package-root.js';

const file = join(packageRoot(), 'examples', 'dsp.c');
const a = [0.5, -1.25, 2, 3.5, 4, -0.75, 1, 2.25];
const b = [1, 2, -0.5, 0.25, 1.5, 2, -3, 0.5];
const expectedDot = a.reduce((s, x, i) => Math.fround(s + Math.fround(x * b[i])), 0);
const samples = [1000, -2000, 30000, -30000, 12345, 0, -1, 16384];
const gain = 49152; // 1.5 in Q15
const expectedSamples = samples.map((s) => Math.max(-32768, Math.min(32767, (s * gain) >> 15)));
const expectedClipped = samples.filter((s) => Math.abs((s * gain) >> 15) > 32767 || (s * gain) >> 15 < -32768).length;

function fail(message: string): never {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

const t0 = performance.now();
const emu = await Emulator.start().catch((e: Error) => fail(e.message));
console.log(`emulated ESP32-P4 ready on ${emu.port} in ${(performance.now() - t0).toFixed(0)} ms`);
let ok = true;
try {
  const client = await emu.connect();
  const session = new JitSession(client, defaultSettings({ firmwareElf: emu.image }));
  console.log(`compiler: ${session.toolchain.gcc}\n`);

  const dot = await session.run(file, 'dot_product', [JSON.stringify(a), JSON.stringify(b), String(a.length)]);
  console.log(describeResult(dot));
  if (dot.returnValue !== expectedDot) {
    ok = false;
    console.error(`  WRONG: expected ${expectedDot}`);
  }

  const gainRun = await session.run(file, 'apply_gain_q15', [JSON.stringify(samples), String(samples.length), String(gain)]);
  console.log(`\n${describeResult(gainRun)}`);
  const got = gainRun.arrays.samples?.map(Number);
  if (gainRun.returnValue !== expectedClipped || JSON.stringify(got) !== JSON.stringify(expectedSamples)) {
    ok = false;
    console.error(`  WRONG: expected ${expectedClipped} clipped and samples [${expectedSamples.join(', ')}]`);
  }

  const heap = await session.heap();
  console.log(`\ndevice heap: PSRAM ${heap.freeSpiram} of ${heap.totalSpiram} bytes free, internal ${heap.freeInternal} of ${heap.totalInternal} bytes free`);
  await session.freeAll();
  await client.close();
} catch (e) {
  ok = false;
  console.error(`npm start: ${e instanceof Error ? e.message : e}`);
} finally {
  await emu.stop();
}
if (!ok) process.exit(1);
console.log('\nall results match the host computation');
