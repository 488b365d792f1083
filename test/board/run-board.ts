/**
 * npm run test:board -- --port /dev/ttyACM0 [--only skeleton,corpus] [--firmware-elf build/app.elf]
 *
 * Runs the device-facing suites against a board (or any port with P4-JIT firmware behind it), one
 * file at a time, and ends with a summary to paste into a bug report: the device's INFO, the
 * versions, the counts, every failure and every skipped test with its reason. The port can also
 * come from P4JIT_PORT, the firmware ELF from P4JIT_FIRMWARE_ELF.
 */
import { readFileSync } from 'node:fs';
import { arch, platform, release } from 'node:os';
import { join } from 'node:path';
import { run } from 'node:test';
import { parseArgs } from 'node:util';

import { DeviceClient } from '../../extension/device/client.js';
import { repoRoot } from '../helpers/paths.js';

/** The suites that make sense on hardware (each starts its device through test/helpers/device.ts). */
export const BOARD_SUITES = ['skeleton', 'raw-bounds', 'corpus'];

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
  const files = suites.map((s) => join(repoRoot, 'out', 'test', 'e2e', `${s}.test.js`));
  const stream = run({ files, concurrency: 1 }); // one suite at a time: they share the board
  stream.on('test:pass', (d) => record(outcomes, d, d.skip !== undefined ? 'skip' : 'pass', typeof d.skip === 'string' ? d.skip : ''));
  stream.on('test:fail', (d) => record(outcomes, d, 'fail', errorText(d.details.error)));
  for await (const _ of stream); // drain: the events above do the work

  console.log(summary(port, device, suites, outcomes));
  return outcomes.some((o) => o.status === 'fail') || outcomes.length === 0 ? 1 : 0;
}

type TestEvent = { name: string; file?: string; nesting: number; details: { type?: string; error?: unknown } };

function record(out: Outcome[], d: TestEvent, status: Outcome['status'], note: string): void {
  if (d.details.type === 'suite') return; // its tests are counted one by one
  const suite = (d.file ?? '').replace(/.*\//, '').replace(/\.test\.js$/, '');
  out.push({ suite, name: d.name, status, note });
  const mark = { pass: '✔', fail: '✖', skip: '﹣' }[status];
  console.log(`${mark} ${suite} › ${d.name}${note ? ` — ${note}` : ''}`);
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

function summary(port: string, device: string, suites: string[], outcomes: Outcome[]): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const count = (s: Outcome['status']) => outcomes.filter((o) => o.status === s);
  const list = (os: Outcome[]) => os.map((o) => `  - ${o.suite} › ${o.name}: ${o.note}`);
  return [
    '',
    '---- P4-JIT board test summary ----',
    `port           ${port}`,
    `device         ${device}`,
    `P4-JIT         ${pkg.version}, Node ${process.version}, ${platform()} ${release()} ${arch()}`,
    `suites         ${suites.join(', ')}`,
    `result         ${count('pass').length} passed, ${count('fail').length} failed, ${count('skip').length} skipped`,
    ...(count('fail').length ? ['failed:', ...list(count('fail'))] : []),
    ...(count('skip').length ? ['skipped:', ...list(count('skip'))] : []),
    '-----------------------------------',
  ].join('\n');
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: Error) => {
  console.error(`test:board: ${e.message}`);
  process.exitCode = 1;
});
