/**
 * The data path a DSP or ML script uses: a 48,000-float array in and out of one call, a call per
 * input with the weights kept on the device, a notebook's C cell against the same load by the
 * session, and (emulator) what counting instructions costs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { Device } from '../extension/api/device.js';
import type { DeviceClient } from '../extension/device/client.js';
import { NotebookKernel, type CellOutput } from '../extension/notebook/kernel.js';
import { Emulator } from '../extension/emulator/launcher.js';
import { MallocCap } from '../extension/protocol/constants.js';
import { defaultSettings } from '../extension/session/defaults.js';
import { JitSession } from '../extension/session/jit-session.js';
import { measure, measurePair, ms, type Row, type Stat } from './stats.js';

const KERNELS = `#include <stdint.h>
void gain(const float *x, float *y, int n, float g)
{
    for (int i = 0; i < n; i++) y[i] = g * x[i];
}
int classify(const int8_t *w, int k)
{
    return w[k & 63] + k;
}
int spin(int n)
{
    volatile int acc = 0;
    for (int i = 0; i < n; i++) acc += i;
    return acc;
}
`;

export async function benchData(session: JitSession, client: DeviceClient, work: string, runs: number, row: (r: Row, stats?: Record<string, Stat>) => void, emulated: boolean): Promise<void> {
  const file = join(work, 'kernels.c');
  writeFileSync(file, KERNELS);
  const caps = MallocCap.SPIRAM | MallocCap['8BIT'];

  // ---- 48,000 floats in and out, from a script (the public API), as a loop over blocks calls it ----
  const N = 48_000;
  const x = Float32Array.from({ length: N }, (_, i) => Math.sin(i / 10));
  const y = new Float32Array(N); // holds each call's output after it, as in a loop that reuses its buffer
  const script = Device.attach(session, (w) => w(), 'bench');
  const gain = await script.load(file, 'gain');
  await gain(x, y, N, 0.5); // sizes the argument arena
  const bytes = N * 4;
  const scratch = await client.alloc(bytes, caps, 16);
  const zeros = Buffer.alloc(bytes);
  // reference: the same bytes both ways with nothing around them but the protocol's own frames
  // (a raw write the parser discards, READ_MEM of as many bytes) and one PING
  const [call, link] = await measurePair(() => gain(x, y, N, 0.5), async () => {
    await client.transport.write(zeros);
    await client.read(scratch, bytes);
    await client.ping(Buffer.from('ref'));
  }, runs * 2, 1);
  await client.free(scratch);
  await gain.free();
  row({ measurement: 'a call with one 48,000-float input and output array (gain), from a script', value: ms(call), reference: `the bytes both ways + PING (${ms(link)})`,
    ratio: call.median / link.median, target: '≤ 1.3×', met: call.median / link.median <= 1.3 }, { call, link });

  // ---- batch inference: weights on the device, one call per input ----
  const weights = await client.alloc(64, caps, 16);
  await client.write(weights, Buffer.from(Int8Array.from({ length: 64 }, (_, i) => i - 32).buffer));
  const classify = await session.load(file, 'classify');
  let k = 0;
  const [perInput, ping] = await measurePair(() => session.call(classify.key, [{ address: weights }, k++]), () => client.ping(Buffer.from('bench')), 200);
  await client.free(weights);
  row({ measurement: 'batch inference from a script: one call per input, weights kept on the device', value: ms(perInput), reference: `PING round trip (${ms(ping)})`,
    ratio: perInput.median / ping.median, target: '≤ 1.3×', met: perInput.median / ping.median <= 1.3 }, { perInput, ping });

  // ---- notebook: a C cell run until its function is loaded, against the same load by the session (the CLI's engine) ----
  const kernel = new NotebookKernel({ baseDir: work, notebookId: 'bench', device: async () => Device.attach(session, (w) => w(), 'bench') });
  const cliFile = join(work, 'cell-as-file.c');
  let edit = 0;
  const cellSource = () => `int cell_fn(int a)\n{\n    return a * 3 + ${edit++};\n}\n`; // changed each time: a real build
  const [cell, cli] = await measurePair(async () => {
    const outputs: CellOutput[] = [];
    if (!(await kernel.run({ id: 'bench', source: cellSource(), language: 'c' }, (o) => outputs.push(o)))) throw new Error(JSON.stringify(outputs));
  }, async () => {
    writeFileSync(cliFile, cellSource());
    await session.load(cliFile, 'cell_fn');
  }, runs * 2, 1);
  await kernel.dispose();
  row({ measurement: 'notebook: run a changed C cell until its function is loaded', value: ms(cell), reference: `the same load by the CLI's engine (${ms(cli)})`,
    ratio: cell.median / cli.median, target: '≤ 1.2×', met: cell.median / cli.median <= 1.2 }, { cell, cli });

  if (!emulated) return;
  // ---- what counting instructions costs the emulator ----
  const spinArgs = [2_000_000];
  const spin = await session.load(file, 'spin');
  const counted = await measure(() => session.call(spin.key, spinArgs), runs);
  const plain = await Emulator.start({ icount: false });
  const plainClient = await plain.connect();
  try {
    const plainSession = new JitSession(plainClient, defaultSettings({ firmwareElf: plain.image, buildRoot: join(work, 'build') }));
    const plainSpin = await plainSession.load(file, 'spin');
    const wall = await measure(() => plainSession.call(plainSpin.key, spinArgs), runs);
    row({ measurement: 'emulator: a 2-million-iteration loop counted in instructions (-icount) vs timed by the host clock', value: ms(counted),
      reference: `without -icount (${ms(wall)})`, ratio: counted.median / wall.median, target: 'reported', met: null }, { counted, wall });
  } finally {
    await plainClient.close();
    await plain.stop();
  }
}
