/**
 * npm run bench: measures P4-JIT on the emulated ESP32-P4 (or a board with --port PATH). Every
 * figure is a ratio against a reference measured in the same run, because absolute times on a
 * shared machine drift. Writes bench/results.json (or --out FILE) and prints the Markdown table README carries.
 */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { DeviceClient } from '../extension/device/client.js';
import { Emulator } from '../extension/emulator/launcher.js';
import { encodeFrame, FrameDecoder } from '../extension/protocol/codec.js';
import { Cmd, Flag, MallocCap } from '../extension/protocol/constants.js';
import { defaultSettings } from '../extension/session/defaults.js';
import { JitSession } from '../extension/session/jit-session.js';
import { packageRoot } from '../extension/util/package-root.js';
import { compileFlags } from '../toolchain/build.js';
import { runToolFast } from '../toolchain/tool-runner.js';
import { benchData } from './data.js';
import { ARRAYS_SOURCE, DSP_SOURCE, EMPTY_SOURCE } from './fixtures.js';
import { measure, measurePair, ms, type Row, type Stat } from './stats.js';

const { values: opts } = parseArgs({ options: { port: { type: 'string' }, runs: { type: 'string' }, out: { type: 'string' } } });
const RUNS = Math.max(5, Number(opts.runs ?? 7));
const rows: Row[] = [];
const raw: Record<string, unknown> = {};
const range = (s: Stat) => `median ${s.median.toFixed(2)}, min ${s.min.toFixed(2)}, max ${s.max.toFixed(2)} ms`;

function row(r: Row, stats?: Record<string, Stat>): void {
  rows.push(r);
  if (stats) raw[r.measurement] = stats;
  console.error(`  ${r.measurement}: ${r.value}${r.ratio !== undefined ? ` = ${r.ratio.toFixed(2)}× ${r.reference}` : ''} → ${r.met === null ? 'reported' : r.met ? 'met' : 'MISSED'}`);
}

const work = mkdtempSync(join(tmpdir(), 'p4jit-bench-'));
let emu: Emulator | undefined;
let client: DeviceClient;
if (opts.port) {
  client = await DeviceClient.open(opts.port);
} else {
  const bootStats = await measure(async () => {
    const e = await Emulator.start();
    await e.stop();
  }, 5, 1);
  const t0 = performance.now();
  emu = await Emulator.start();
  raw.boot = bootStats;
  console.error(`emulator boot to first answer: ${range(bootStats)} (this start ${(performance.now() - t0).toFixed(0)} ms)`);
  client = await emu.connect();
}
const session = new JitSession(client, defaultSettings({ firmwareElf: emu?.image, buildRoot: join(work, 'build') }));

try {
  // ---- edit-to-result ----
  const dspFile = join(work, 'biquad.c');
  const samples = JSON.stringify(Array.from({ length: 64 }, (_, i) => Math.sin(i / 3)));
  let edit = 0;
  const editToResult = await measure(async () => {
    writeFileSync(dspFile, `${DSP_SOURCE}/* edit ${edit++} */\n`);
    await session.run(dspFile, 'biquad_block', [samples, '64']);
  }, RUNS);
  const flags = compileFlags({ toolchain: session.toolchain, buildDir: work, optimization: '-O2' });
  // started as the session starts the compiler (toolchain/tool-runner.ts): the ratio is the work around the compile
  const bareGcc = await measure(() => runToolFast(session.toolchain.gcc, [...flags, '-c', dspFile, '-o', join(work, 'bare.o')]), RUNS);
  row({ measurement: 'edit-to-result: save a 30-line DSP function → result (compile, link, upload, call)', value: ms(editToResult), reference: `bare gcc -c (${ms(bareGcc)})`,
    ratio: editToResult.median / bareGcc.median, target: '≤ 1.5× and < 300 ms', met: editToResult.median / bareGcc.median <= 1.5 && editToResult.median < 300 }, { editToResult, bareGcc });
  const cacheHit = await measure(() => session.run(dspFile, 'biquad_block', [samples, '64']), RUNS);
  row({ measurement: 'edit-to-result, unchanged source (cache hit)', value: ms(cacheHit), reference: 'edit-to-result',
    ratio: cacheHit.median / editToResult.median, target: '≤ 0.2×', met: cacheHit.median / editToResult.median <= 0.2 }, { cacheHit });

  // ---- upload ----
  const MiB = 1024 * 1024;
  const data = Buffer.alloc(MiB, 0x3c);
  const dest = await client.alloc(MiB, MallocCap.SPIRAM | MallocCap['8BIT'], 16);
  // reference: the same bytes with no protocol; the device's parser reads and discards them (no
  // magic in them), and a PING behind them tells when the last byte was read. Measured in
  // alternation with the upload: the link's rate drifts on a shared machine.
  const zeros = Buffer.alloc(MiB, 0);
  const ping = await measure(() => client.ping(Buffer.from('bench')), RUNS * 3);
  const [upload, rawLink] = await measurePair(() => client.write(dest, data), async () => {
    await client.transport.write(zeros);
    await client.ping(Buffer.from('raw'));
  }, RUNS * 2, 1);
  const rawMBs = MiB / 1e6 / ((rawLink.median - ping.median) / 1000);
  const upMBs = MiB / 1e6 / (upload.median / 1000);
  await client.free(dest);
  row({ measurement: 'upload 1 MiB', value: `${upMBs.toFixed(2)} MB/s (${ms(upload)})`, reference: `raw link ${rawMBs.toFixed(2)} MB/s`,
    ratio: upMBs / rawMBs, target: '≥ 0.8×', met: upMBs / rawMBs >= 0.8 }, { upload, rawLink });

  // ---- call overhead ----
  const emptyFile = join(work, 'empty.c');
  writeFileSync(emptyFile, EMPTY_SOURCE);
  const fn = await session.load(emptyFile, 'empty');
  // sub-millisecond figures: many samples, call and PING in alternation
  const [emptyCall, pingNow] = await measurePair(() => client.call(fn.entry, Buffer.alloc(0)), () => client.ping(Buffer.from('bench')), 200);
  row({ measurement: 'call of an empty function', value: ms(emptyCall), reference: `PING round trip (${ms(pingNow)})`,
    ratio: emptyCall.median / pingNow.median, target: '≤ 1.2×', met: emptyCall.median / pingNow.median <= 1.2 }, { emptyCall, ping: pingNow });

  // ---- round trips per call ----
  const arraysFile = join(work, 'arrays.c');
  writeFileSync(arraysFile, ARRAYS_SOURCE);
  const list = JSON.stringify([1, 2, 3, 4, 5, 6, 7, 8]);
  const trips = async (name: string, args: string[]) => {
    const f = await session.load(arraysFile, name);
    await session.call(f.key, args); // warms the argument arena
    const before = client.stats.requests;
    await session.call(f.key, args);
    return client.stats.requests - before;
  };
  const k0 = await (async () => {
    const before = client.stats.requests;
    await session.call(fn.key, []);
    return client.stats.requests - before;
  })();
  const k1 = await trips('sum1', [list, '8']);
  const k4 = await trips('sum4', [list, list, list, list, '8']);
  row({ measurement: 'round trips for one call with k = 0, 1, 4 arrays', value: `${k0}, ${k1}, ${k4}`, reference: '—', target: '1, ≤ 3, ≤ 3', met: k0 === 1 && k1 <= 3 && k4 <= 3 });
  raw.roundTrips = { k0, k1, k4 };

  // ---- the data path of scripts and notebooks ----
  await benchData(session, client, work, RUNS, row, !opts.port);

  // ---- host codec ----
  const payload = Buffer.alloc(MiB, 0x5a);
  const decoder = new FrameDecoder();
  const codec = await measure(() => {
    const frame = encodeFrame(Cmd.ReadMem, Flag.Ok, payload);
    for (let o = 0; o < frame.length; o += 65536) decoder.push(frame.subarray(o, o + 65536));
  }, 100, 50); // a fresh 1 MiB frame each time: the first ones fault fresh pages into the heap
  const copy = Buffer.alloc(MiB);
  const memcpy = await measure(() => payload.copy(copy), 60, 10);
  const codecMBs = MiB / 1e6 / (codec.median / 1000);
  const copyMBs = MiB / 1e6 / (memcpy.median / 1000);
  row({ measurement: 'host codec: encode + decode + checksum, 1 MiB frames', value: `${codecMBs.toFixed(0)} MB/s`, reference: `memcpy ${copyMBs.toFixed(0)} MB/s`,
    ratio: codecMBs / copyMBs, target: '≥ 500 MB/s', met: codecMBs >= 500 }, { codec, memcpy });

  // ---- extension ----
  const bundle = join(packageRoot(), 'dist', 'extension.cjs');
  if (existsSync(bundle)) {
    const kb = statSync(bundle).size / 1024;
    row({ measurement: 'extension bundle as packaged (minified, without the native binding)', value: `${kb.toFixed(0)} KiB`, reference: '—', target: '< 1 MB', met: kb < 1000 });
  }
  const activation = join(packageRoot(), 'test-results', 'vscode', 'activation.json');
  if (existsSync(activation)) {
    const a = JSON.parse(readFileSync(activation, 'utf8')) as { ms: number };
    row({ measurement: 'extension activation (measured in the VS Code test run)', value: `${a.ms.toFixed(0)} ms`, reference: '—', target: '< 100 ms', met: a.ms < 100 });
  }
  raw.link = { pingMs: ping.median, rawLinkMBs: rawMBs };
  console.error(`${emu ? 'emulator' : 'board'} raw link rate: ${rawMBs.toFixed(2)} MB/s; PING round trip ${range(ping)}`);
} finally {
  await session.freeAll().catch(() => undefined);
  await client.close();
  await emu?.stop();
}

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`;
const date = new Date().toISOString().slice(0, 10);
const device = opts.port ? `board on ${opts.port}` : 'emulated ESP32-P4 (QEMU)';
const table = [
  `Measured ${date} on ${machine}, ${device}; ${RUNS} runs after warm-up, medians.`,
  '',
  '| measurement | value | reference (same run) | ratio | target | met |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.measurement} | ${r.value} | ${r.reference} | ${r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : '—'} | ${r.target} | ${r.met === null ? '—' : r.met ? 'yes' : '**no**'} |`),
].join('\n');
writeFileSync(opts.out ?? join(packageRoot(), 'bench', 'results.json'), JSON.stringify({ date, machine, device, runs: RUNS, rows, raw }, null, 2));
console.log(table);
