/**
 * End of file on the port: the far end of the pty closes (QEMU killed) under a host that is idle,
 * in the middle of an upload, in the middle of a call, and while a function's output streams. The
 * host (test/helpers/eof-host.ts, a process of its own so that its CPU time and heap are its own)
 * must report the loss, fail what was pending or queued with DisconnectedError, and then stay idle:
 * under 0.2 s of CPU time and no heap growth over the 10 s after.
 *
 * The output scenario puts a read of the port in flight at the moment of the close (see the
 * helper), where @serialport/bindings-cpp 13 reads 0 bytes and reads again at once, forever
 * (serialport/bindings-cpp issue 162): a core busy and memory growing until it runs out.
 */
import assert from 'node:assert/strict';
import { execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { Emulator } from '../../extension/emulator/launcher.js';
import type { EofHostReport, EofHostSetup, EofScenario } from '../helpers/eof-host.js';
import { repoRoot, scratchDir } from '../helpers/paths.js';

const HOST = join(repoRoot, 'out', 'test', 'helpers', 'eof-host.js');
const CPU_LIMIT_MS = 200;
/** Heap growth allowed over the 10 s (after a full GC): noise, not a leak. */
const HEAP_SLACK = 512 * 1024;

const dir = scratchDir('eof');
after(() => rmSync(dir, { recursive: true, force: true }));

async function loseDevice(scenario: EofScenario): Promise<EofHostReport> {
  const emu = await Emulator.start({ link: 'uart' });
  const fifo = join(dir, `${scenario}.fifo`);
  execFileSync('mkfifo', [fifo]);
  const host = fork(HOST, [], {
    // --liftoff-only: V8 otherwise recompiles the C parser's WebAssembly (used to load the
    // function) in the background for seconds, 0.1-0.2 s of CPU time that has nothing to do with the port
    execArgv: ['--expose-gc', '--liftoff-only'],
    env: { ...process.env, UV_THREADPOOL_SIZE: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = once(host, 'exit');
  const next = async () => {
    const [m] = await Promise.race([once(host, 'message'), exited.then(() => { throw new Error('the host process exited'); })]);
    if ((m as { error?: string }).error) throw new Error(`host: ${(m as { error: string }).error}`);
    return m;
  };
  try {
    const setup: EofHostSetup = { port: emu.port, scenario, fifo, image: emu.image, buildRoot: join(dir, 'build') };
    host.send(setup);
    assert.equal(await next(), 'armed');
    emu.kill();
    await emu.whenExited; // QEMU is gone, and with it the far end of the pty
    host.send('release');
    return (await next()) as EofHostReport;
  } finally {
    host.kill('SIGKILL');
    await emu.stop();
  }
}

for (const scenario of ['output', 'idle', 'upload', 'call'] as const) {
  test(`end of file on the port ${describe(scenario)}: the loss is reported and the host stays idle`, async (t) => {
    const r = await loseDevice(scenario);
    t.diagnostic(`disconnect after ${r.disconnectMs} ms (${r.disconnectMessage}); over 10 s: CPU ${r.cpuMs.toFixed(0)} ms, ` +
      `heap ${r.heapBefore} → ${r.heapAfter} bytes, RSS ${(r.rssBefore / 2 ** 20).toFixed(1)} → ${(r.rssAfter / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(r.cpuMs < CPU_LIMIT_MS, `the host used ${r.cpuMs.toFixed(0)} ms of CPU in the 10 s after the loss`);
    assert.ok(r.heapAfter - r.heapBefore < HEAP_SLACK, `the heap grew from ${r.heapBefore} to ${r.heapAfter} bytes`);
    assert.notEqual(r.disconnectMs, null, 'the client emitted disconnect');
    for (const p of r.pending) assert.equal(p.result, 'DisconnectedError', `${p.what} ended with ${p.result}: ${p.message}`);
    assert.equal(r.after, 'DisconnectedError', 'a request after the loss fails at once');
  });
}

function describe(s: EofScenario): string {
  return { idle: 'while idle', upload: 'in the middle of an upload', call: 'in the middle of a call', output: 'while output streams' }[s];
}
