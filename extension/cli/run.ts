/** p4jit run <file.c> <function> [arg ...]: compile, load, call, print. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MallocCap } from '../protocol/constants.js';
import { JitSession } from '../session/jit-session.js';
import type { CallResult } from '../session/types.js';
import { closeDevice, openDevice, type DeviceFlags } from './device.js';
import { UsageError, type CliValues } from './main.js';

export const DEFAULT_BUILD_ROOT = join(tmpdir(), 'p4jit-build');

function json(r: CallResult): string {
  return JSON.stringify({
    function: r.function,
    return: r.returnValue,
    cycles: r.cycles,
    timeUs: r.timeUs,
    hostMs: Math.round(r.hostMs * 10) / 10,
    output: r.output,
    arrays: r.arrays,
    fault: r.fault,
  }, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
}

export function describeResult(r: CallResult): string {
  const lines = [`${r.function}(${r.args.map((a) => a.display).join(', ')})`];
  if (r.fault) lines.push(`  fault:   ${r.fault.message}`);
  else lines.push(`  returned ${r.returnDisplay}`);
  if (r.cycles !== null) lines.push(`  cycles   ${r.cycles}${r.timeUs !== null ? `  (${r.timeUs} µs on the device)` : ''}`);
  for (const [name, values] of Object.entries(r.arrays)) lines.push(`  ${name} = [${values.map(String).join(', ')}]`);
  if (r.output) lines.push(`  output:\n${r.output.replace(/^/gm, '    ').trimEnd()}`);
  lines.push(`  took     ${r.hostMs.toFixed(1)} ms (build, load, call)`);
  return lines.join('\n');
}

export async function runCommand(pos: string[], v: CliValues, flags: DeviceFlags): Promise<number> {
  if (pos.length < 2) throw new UsageError('run takes <file.c> <function> [arg ...]');
  const [file, name, ...args] = pos;
  const timeLimit = v['time-limit'] !== undefined ? Number(v['time-limit']) : 0;
  if (!Number.isInteger(timeLimit) || timeLimit < 0) throw new UsageError(`--time-limit: "${v['time-limit']}" is not a whole number of milliseconds`);
  const h = await openDevice(flags);
  try {
    const session = new JitSession(h.client, {
      toolchainPath: v.toolchain,
      firmwareElf: v['firmware-elf'] ?? h.emulator?.image,
      optimization: v.O ? `-O${v.O.replace(/^-?O/, '')}` : '-O2',
      extraFlags: v.flag ?? [],
      codeCaps: MallocCap.EXEC | MallocCap.SPIRAM | MallocCap['8BIT'],
      dataCaps: MallocCap.SPIRAM | MallocCap['8BIT'],
      callTimeLimitMs: timeLimit,
      linkFolderSources: !!v['link-folder'],
      buildRoot: DEFAULT_BUILD_ROOT,
    });
    const r = await session.run(file, name, args);
    console.log(v.json ? json(r) : describeResult(r));
    if (r.fault) console.error(`p4jit: ${r.fault.message}`);
    await session.freeAll();
    return r.fault ? 1 : 0;
  } finally {
    await closeDevice(h);
  }
}
