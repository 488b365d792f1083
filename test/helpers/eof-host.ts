/**
 * A host process for test/e2e/port-eof.test.ts, forked with UV_THREADPOOL_SIZE=1 and --expose-gc:
 * a DeviceClient and a JitSession on the port given, brought into one scenario (idle, mid-upload,
 * mid-call, while output streams) before the test closes the far end of the port.
 *
 * The race that matters is a read of the port in flight when the far end goes: that read returns
 * 0 bytes (end of file), where a read that waits in poll() gets an error. To make it happen every
 * time, the only thread-pool thread is held in an open() of a FIFO while the far end is closed, so
 * the port's next read waits behind it and runs only after the close; the test then releases it.
 *
 * Messages: ← {port, scenario, fifo, image, buildRoot}; → 'armed'; ← 'release'; → the report.
 */
import { open, openSync, closeSync, constants } from 'node:fs';

import { DeviceClient } from '../../extension/device/client.js';
import { MallocCap } from '../../extension/protocol/constants.js';
import { JitSession } from '../../extension/session/jit-session.js';
import { defaultSettings } from '../../extension/session/defaults.js';
import { fixture } from './paths.js';

export type EofScenario = 'idle' | 'upload' | 'call' | 'output';

export interface EofHostSetup {
  port: string;
  scenario: EofScenario;
  fifo: string;
  image: string;
  buildRoot: string;
}

export interface EofHostReport {
  scenario: EofScenario;
  /** ms from the release to the client's 'disconnect' event, or null if it never came. */
  disconnectMs: number | null;
  disconnectMessage: string | null;
  /** How each request that was in flight or queued at the loss ended (error name or 'ok'). */
  pending: { what: string; result: string; message: string }[];
  /** A request made after the measurement. */
  after: string;
  /** Over the 10 s after everything settled. */
  cpuMs: number;
  heapBefore: number;
  heapAfter: number;
  rssBefore: number;
  rssAfter: number;
}

const MEASURE_MS = 10_000;
/** Longer than any of these to notice a loss (a disconnect is noticed in milliseconds). */
const SETTLE_MS = 5_000;

const send = (m: unknown) => process.send!(m);
const nextMessage = () => new Promise<unknown>((resolve) => process.once('message', resolve));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gc = () => (globalThis as { gc?: () => void }).gc!();

/** Resolves when cond() holds, checked at every turn of the event loop. */
async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** File system requests waiting for the thread pool (the FIFO open and any read of the port). */
const fsRequests = () => process.getActiveResourcesInfo().filter((r) => r === 'FSReqCallback').length;

function settled(p: Promise<unknown>): Promise<{ result: string; message: string }> {
  return Promise.race([
    p.then(() => ({ result: 'ok', message: '' }), (e: Error) => ({ result: e.name, message: e.message })),
    sleep(SETTLE_MS).then(() => ({ result: 'still pending', message: `after ${SETTLE_MS} ms` })),
  ]);
}

async function main(): Promise<void> {
  const setup = (await nextMessage()) as EofHostSetup;
  const client = await DeviceClient.open(setup.port, { timeoutMs: 10_000 });
  const session = new JitSession(client, defaultSettings({ firmwareElf: setup.image, buildRoot: setup.buildRoot }));
  let disconnectAt: number | null = null;
  let disconnectMessage: string | null = null;
  client.on('disconnect', (e: Error) => {
    disconnectAt = Date.now();
    disconnectMessage = e.message;
  });

  // bring the host into the scenario
  const pending: { what: string; p: Promise<unknown> }[] = [];
  const sent = () => client.stats.requests;
  if (setup.scenario === 'upload') {
    const size = client.maxPayload - 64; // one WRITE_MEM frame, seconds long on the UART link
    const addr = await client.alloc(size, MallocCap.SPIRAM | MallocCap['8BIT']);
    const before = sent();
    pending.push({ what: 'upload', p: client.write(addr, Buffer.alloc(size, 0x5a)) });
    await until(() => sent() > before, 'the upload is sent');
  } else if (setup.scenario === 'call') {
    const fn = await session.load(fixture('corpus/faults.c'), 'spin_forever');
    const before = sent();
    pending.push({ what: 'call', p: session.call(fn.key, ['0'], { timeLimitMs: 30_000 }) });
    await until(() => sent() > before, 'the call is sent');
  } else if (setup.scenario === 'output') {
    const fn = await session.load(fixture('chatter.c'), 'chatter');
    let printed = 0;
    client.on('output', () => printed++);
    pending.push({ what: 'printing call', p: session.call(fn.key, ['100000000'], { timeLimitMs: 30_000 }) });
    await until(() => printed > 0, 'the function prints');
  }
  // (not while output streams: a queued request would write, and a failed write ends the loop
  // the test is after, just as a user's next command would)
  if (setup.scenario === 'upload' || setup.scenario === 'call') pending.push({ what: 'queued HEAP_INFO', p: client.heapInfo() });
  for (const { p } of pending) p.catch(() => undefined);

  // hold the thread pool; while the device sends, wait until a read of the port queues behind it
  open(setup.fifo, 'r', (err, fd) => { if (!err) closeSync(fd); });
  await until(() => fsRequests() >= 1, 'the FIFO open is waiting');
  if (setup.scenario === 'output') await until(() => fsRequests() >= 2, 'a read of the port is queued');
  send('armed');

  await nextMessage(); // the far end is closed now
  closeSync(openSync(setup.fifo, constants.O_WRONLY | constants.O_NONBLOCK)); // frees the thread
  const releasedAt = Date.now();
  const results = await Promise.all(pending.map(async ({ what, p }) => ({ what, ...(await settled(p)) })));
  await until(() => disconnectAt !== null, 'the client reports the loss', SETTLE_MS).catch(() => undefined);

  gc();
  const cpu0 = process.cpuUsage();
  const mem0 = process.memoryUsage();
  await sleep(MEASURE_MS);
  gc();
  const cpu = process.cpuUsage(cpu0);
  const mem1 = process.memoryUsage();
  // only now: a request writes, and a failed write would end a loop of empty reads
  const after = (await settled(client.ping())).result;
  const report: EofHostReport = {
    scenario: setup.scenario,
    disconnectMs: disconnectAt === null ? null : (disconnectAt as number) - releasedAt,
    disconnectMessage,
    pending: results,
    after,
    cpuMs: (cpu.user + cpu.system) / 1000,
    heapBefore: mem0.heapUsed,
    heapAfter: mem1.heapUsed,
    rssBefore: mem0.rss,
    rssAfter: mem1.rss,
  };
  send(report);
  await client.close().catch(() => undefined);
  process.disconnect();
}

main().catch((e: Error) => {
  send({ error: e.stack ?? String(e) });
  process.exitCode = 1;
  process.disconnect();
});
