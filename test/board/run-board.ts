/**
 * npm run test:board -- --port /dev/ttyACM0 [--only skeleton,corpus] [--firmware-elf build/app.elf]
 *
 * Runs the device-facing suites against a board (or any port with P4-JIT firmware behind it), one
 * file at a time, then the benchmarks, and ends with a summary to paste into a bug report: the
 * device's INFO, the versions, the counts, every failure and every skipped test with its reason,
 * the benchmark table. The port can also come from P4JIT_PORT, the firmware ELF from P4JIT_FIRMWARE_ELF.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { arch, platform, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from 'node:test';
import { parseArgs } from 'node:util';

import { execa } from 'execa';

import { DeviceClient } from '../../extension/device/client.js';
import { repoRoot } from '../helpers/paths.js';

/**
 * The suites that make sense on hardware (each starts its device through test/helpers/device.ts),
 * and last the benchmarks (`npm run bench` against the port).
 */
export const BOARD_SUITES = ['skeleton', 'raw-bounds', 'seed-host', 'corpus', 'emulator-faults', 'limits-auth', 'overrun', 'link-faults', 'soak', 'bench'];

interface Outcome {
  suite: string;
  name: string;
  status: 'pass' | 'fail' | 'skip';
  note: string;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string' }, only: { type: 'string' }, 'firmware-elf': { type: 'string' } } });
  const port = values.port ?? process.env.P4JIT_PORT;
  if (!port) {
    console.error('test:board: give the board\'s port: npm run test:board -- --port /dev/ttyACM0 (or set P4JIT_PORT)');
    return 2;
  }
  const suites = values.only ? values.only.split(',').map((s) => s.trim()) : BOARD_SUITES;
  const unknown = suites.filter((s) => !BOARD_SUITES.includes(s));
  if (unknown.length) {
    console.error(`test:board: no board suite ${unknown.join(', ')} (known: ${BOARD_SUITES.join(', ')})`);
    return 2;
  }
  const device = await describeDevice(port);
  process.env.P4JIT_TEST_BOARD_PORT = port;
  if (values['firmware-elf']) process.env.P4JIT_FIRMWARE_ELF = values['firmware-elf'];

  const outcomes: Outcome[] = [];
  const tests = suites.filter((s) => s !== 'bench');
  if (tests.length) {
    const files = tests.map((s) => join(repoRoot, 'out', 'test', 'e2e', `${s}.test.js`));
    const stream = run({ files, concurrency: 1 }); // one suite at a time: they share the board
    stream.on('test:pass', (d) => record(outcomes, d, d.skip !== undefined ? 'skip' : 'pass', typeof d.skip === 'string' ? d.skip : ''));
    stream.on('test:fail', (d) => record(outcomes, d, 'fail', errorText(d.details.error)));
    for await (const _ of stream); // drain: the events above do the work
  }
  const bench = suites.includes('bench') ? await benchmarks(port, outcomes) : undefined;

  console.log(summary(port, device, suites, outcomes, bench));
  return outcomes.some((o) => o.status === 'fail') || outcomes.length === 0 ? 1 : 0;
}

type TestEvent = { name: string; file?: string; nesting: number; details: { type?: string; error?: unknown } };

function record(out: Outcome[], d: TestEvent, status: Outcome['status'], note: string): void {
  // a suite's tests are counted one by one, unless the whole suite was skipped (they never ran)
  if (d.details.type === 'suite' && status !== 'skip') return;
  const suite = (d.file ?? '').replace(/.*\//, '').replace(/\.test\.js$/, '');
  add(out, { suite, name: d.name, status, note });
}

function add(out: Outcome[], o: Outcome): void {
  out.push(o);
  const mark = { pass: '✔', fail: '✖', skip: '﹣' }[o.status];
  console.log(`${mark} ${o.suite} › ${o.name}${o.note ? ` — ${o.note}` : ''}`);
}

/** `npm run bench` against the port (its results file kept out of the repository): the table. */
async function benchmarks(port: string, out: Outcome[]): Promise<string | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'p4jit-board-bench-'));
  try {
    const r = await execa(process.execPath, [join(repoRoot, 'out', 'bench', 'run.js'), '--port', port, '--runs', '5', '--out', join(dir, 'results.json')],
      { reject: false, cwd: repoRoot, stderr: ['pipe', 'inherit'] }); // its progress lines as they come
    const ok = r.exitCode === 0;
    const why = r.stderr.trim().split('\n').pop();
    add(out, { suite: 'bench', name: 'the benchmark table', status: ok ? 'pass' : 'fail', note: ok ? '' : `exit ${r.exitCode ?? r.signal}: ${why}` });
    return ok ? r.stdout.trim() : undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function errorText(e: unknown): string {
  const err = (e as { cause?: unknown })?.cause ?? e;
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

/** INFO of the device, read once before the suites run. */
async function describeDevice(port: string): Promise<string> {
  let client: DeviceClient | undefined;
  try {
    client = await DeviceClient.open(port);
    const i = client.info;
    if (!i) return 'a device that speaks only the seed\'s seven commands';
    return [
      `board ${i.board}, protocol ${i.protocolVersion}, firmware ${i.firmwareId}`,
      `max payload ${i.maxPayload} B, ${i.maxArgs} argument slots, ${i.maxAllocs} allocations, calls ${i.defaultCallMs} ms (max ${i.maxCallMs} ms), capabilities 0x${i.capabilities.toString(16)}, ${client.sealed ? 'SEALED frames' : 'seed checksum only'}`,
    ].join('\n               ');
  } catch (e) {
    return `no INFO: ${(e as Error).message}`;
  } finally {
    await client?.close();
  }
}

function summary(port: string, device: string, suites: string[], outcomes: Outcome[], bench: string | undefined): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const count = (s: Outcome['status']) => outcomes.filter((o) => o.status === s);
  const list = (os: Outcome[]) => os.map((o) => `  - ${o.suite} › ${o.name}: ${o.note}`);
  // skipped tests under their reason, each reason once
  const byReason = (os: Outcome[]) => [...new Set(os.map((o) => o.note))].flatMap((why) =>
    [`  ${why}:`, ...os.filter((o) => o.note === why).map((o) => `    - ${o.suite} › ${o.name}`)]);
  return [
    '',
    '---- P4-JIT board test summary ----',
    `port           ${port}`,
    `device         ${device}`,
    `P4-JIT         ${pkg.version}, Node ${process.version}, ${platform()} ${release()} ${arch()}`,
    `firmware ELF   ${process.env.P4JIT_FIRMWARE_ELF || 'not given (tests that call firmware functions are skipped)'}`,
    `suites         ${suites.join(', ')}`,
    `result         ${count('pass').length} passed, ${count('fail').length} failed, ${count('skip').length} skipped`,
    ...(count('fail').length ? ['failed:', ...list(count('fail'))] : []),
    ...(count('skip').length ? ['skipped:', ...byReason(count('skip'))] : []),
    ...(bench ? ['benchmarks:', bench] : []),
    '-----------------------------------',
  ].join('\n');
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: Error) => {
  console.error(`test:board: ${e.message}`);
  process.exitCode = 1;
});
