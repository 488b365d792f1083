/**
 * p4jit: the command-line face of P4-JIT, on the same modules as the VS Code extension.
 * Exit status 0 on success; otherwise 1 (or 2 for a usage error) with one line on stderr.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { CompileError } from '../../toolchain/build.js';
import { capsNames, DeviceCap, MallocCap } from '../protocol/constants.js';
import { Emulator } from '../emulator/launcher.js';
import { closeDevice, explainForCommand, openDevice, type DeviceFlags, type DeviceHandle } from '../connect/open-device.js';
import { cacheCommand } from './cache.js';
import { Interrupts } from './interrupt.js';
import { SecretError, secretFromOptions } from '../connect/secret.js';
import { counterKind } from '../protocol/payloads.js';
import { describeCounter } from '../session/format.js';
import { runCommand, type Activity } from './run.js';
import { errorMessage, P4JitError } from '../util/errors.js';

class UsageError extends P4JitError {
  override name = 'UsageError';
}

const USAGE = `usage: p4jit <command> [options]

  run <file.c> <function> [arg ...]   compile, load, call and print the result
  ping | info | heap | allocs          ask the device
  alloc <size> [--caps SPIRAM,8BIT] [--align N]
  free <addr> | free --all              free one allocation, or every one the device holds
  read <addr> <size> [--out FILE]
  write <addr> <hex bytes | @FILE>
  exec <addr>
  emulator                             start an emulated ESP32-P4 and print its port
  cache [clean]                        where the build cache is and its size; clean empties it

device options: --port PATH | --emulator (default: a connected board, else the emulator)
                secret: P4JIT_SECRET, --secret-file FILE (- for stdin), or --secret S (visible in ps)
                --json  --no-icount (emulator: time with the host's clock instead of counting
                             instructions; faster, but the figures vary from run to run)
run options:    --gdb PORT (emulator: load, print the gdb commands, call on Enter)  -v, --verbose (each step on stderr)
                -O LEVEL  --flag=F (repeatable, e.g. --flag=-DN=64)  --firmware-elf ELF  --link-folder  --time-limit MS  --toolchain GCC`;

const OPTIONS = {
  port: { type: 'string' },
  emulator: { type: 'boolean' },
  secret: { type: 'string' },
  'secret-file': { type: 'string' },
  icount: { type: 'boolean' }, // the default; kept so scripts that ask for it still work
  'no-icount': { type: 'boolean' },
  json: { type: 'boolean' },
  caps: { type: 'string' },
  align: { type: 'string' },
  out: { type: 'string' },
  O: { type: 'string', short: 'O' },
  flag: { type: 'string', multiple: true },
  'firmware-elf': { type: 'string' },
  'link-folder': { type: 'boolean' },
  'time-limit': { type: 'string' },
  toolchain: { type: 'string' },
  gdb: { type: 'string' },
  all: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type CliValues = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

export function parseNumber(text: string, what: string): number {
  const t = text.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new UsageError(`${what}: "${text}" is not a number from 0 to 0xffffffff`);
  return n;
}

export function parseCaps(text: string): number {
  let caps = 0;
  for (const name of text.split(/[,|+]/).map((s) => s.trim().toUpperCase()).filter(Boolean)) {
    const bit = (MallocCap as Record<string, number>)[name.replace(/^MALLOC_CAP_/, '')];
    if (bit === undefined) throw new UsageError(`unknown caps name "${name}" (known: ${Object.keys(MallocCap).join(', ')})`);
    caps |= bit;
  }
  return caps;
}

const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

function print(json: boolean | undefined, value: unknown, text: string): void {
  console.log(json ? JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v)) : text);
}

/** Positional arguments each device command takes. */
const ARITY: Record<string, number> = { ping: 0, info: 0, heap: 0, allocs: 0, alloc: 1, free: 1, read: 2, write: 2, exec: 1 };

type DeviceAction = (h: DeviceHandle) => Promise<void>;

/**
 * Checks a device command's arguments and returns what to do with the device: every usage
 * mistake is reported before a board is opened or an emulator started.
 */
export function deviceCommand(cmd: string, pos: string[], v: CliValues, signal?: AbortSignal): DeviceAction {
  if (v.all && cmd !== 'free') throw new UsageError(`--all goes with free, not ${cmd}`);
  if (cmd === 'free' && v.all) {
    if (pos.length) throw new UsageError('free --all takes no address');
    return freeAll(v);
  }
  const n = ARITY[cmd];
  if (n === undefined) throw new UsageError(`unknown command "${cmd}"\n${USAGE}`);
  if (pos.length !== n) throw new UsageError(`${cmd} takes ${n} argument${n === 1 ? '' : 's'}, got ${pos.length}\n${USAGE}`);
  switch (cmd) {
    case 'ping':
      return async (h) => {
        const t0 = performance.now();
        const echo = await h.client.ping(Buffer.from('p4jit'));
        const ms = performance.now() - t0;
        print(v.json, { ok: echo.toString() === 'p4jit', ms, device: h.label }, `${h.label}: answered in ${ms.toFixed(2)} ms`);
      };
    case 'info':
      return async (h) => {
        const info = h.client.info;
        if (!info) return print(v.json, { protocolVersion: 1, infoCommand: false }, `${h.label}: a device that speaks only the seven commands of protocol version 1`);
        print(v.json, { ...info, counter: counterKind(info), sealed: h.client.sealed }, [
          `device     ${h.label} (${info.board}), protocol ${info.protocolVersion}`,
          `firmware   ${info.firmwareId}`,
          `counts     ${describeCounter(info).counter}`,
          `cache      ${describeCounter(info).cache}`,
          `buffers    max payload ${info.maxPayload} bytes, ${info.maxArgs} argument slots`,
          `limits     ${info.maxAllocs} allocations, ${info.maxAllocBytes || 'no'} byte limit, calls ${info.defaultCallMs} ms (max ${info.maxCallMs} ms)`,
          `last fault ${info.lastFault ? `mcause ${info.lastFault.mcause} at ${hex(info.lastFault.mepc)} (call ${hex(info.lastFault.entry)})` : 'none'}`,
          `link       ${h.client.inSession ? 'SESSION frames (a MAC under this session\'s key, counters)'
          : h.client.sealed ? 'SEALED frames (CRC-32, sequence numbers)' : 'the 16-bit checksum of protocol version 1 only'}`,
          `auth       ${!h.client.has(DeviceCap.AuthRequired) ? 'none: the device runs unprotected'
          : h.client.has(DeviceCap.Authenticated) ? 'required; this host is authenticated' : 'required; not authenticated (give the secret for other commands)'}`,
        ].join('\n'));
      };
    case 'heap':
      return async (h) => {
        const hp = await h.client.heapInfo();
        print(v.json, hp, `PSRAM     ${hp.freeSpiram} free of ${hp.totalSpiram} bytes\ninternal  ${hp.freeInternal} free of ${hp.totalInternal} bytes`);
      };
    case 'allocs':
      return async (h) => {
        const list = await h.client.listAllocs();
        print(v.json, list, list.length ? list.map((a) => `${hex(a.addr)}  ${String(a.size).padStart(9)}  ${capsNames(a.caps).join('|')}`).join('\n') : 'no allocations');
      };
    case 'alloc': {
      const size = parseNumber(pos[0], 'size');
      const caps = v.caps ? parseCaps(v.caps) : MallocCap.SPIRAM | MallocCap['8BIT'];
      const align = v.align ? parseNumber(v.align, 'align') : 4;
      return async (h) => {
        const addr = await h.client.alloc(size, caps, align);
        print(v.json, { addr, size, caps }, hex(addr));
      };
    }
    case 'free': {
      const addr = parseNumber(pos[0], 'address');
      return async (h) => {
        await h.client.free(addr);
        print(v.json, { freed: addr }, `freed ${hex(addr)}`);
      };
    }
    case 'read': {
      const addr = parseNumber(pos[0], 'address');
      const size = parseNumber(pos[1], 'size');
      return async (h) => {
        const data = await h.client.read(addr, size);
        if (v.out) writeFileSync(v.out, data);
        print(v.json, { hex: data.toString('hex') }, v.out ? `${data.length} bytes → ${v.out}` : data.toString('hex').replace(/(.{64})/g, '$1\n').trim());
      };
    }
    case 'write': {
      const addr = parseNumber(pos[0], 'address');
      const data = parseWriteData(pos[1]);
      return async (h) => {
        await h.client.write(addr, data, { signal });
        print(v.json, { written: data.length }, `wrote ${data.length} bytes`);
      };
    }
    default: { // exec
      const addr = parseNumber(pos[0], 'address');
      return async (h) => {
        const r = await h.client.exec(addr);
        print(v.json, { return: r }, String(r));
      };
    }
  }
}

/** free --all: every allocation in the device's table, whoever made it (after an interrupted run, say). */
function freeAll(v: CliValues): DeviceAction {
  return async (h) => {
    if (!h.client.has(DeviceCap.ListAllocs)) throw new P4JitError('this device cannot list its allocations (its firmware speaks only protocol version 1): free each address');
    const list = await h.client.listAllocs();
    for (const a of list) await h.client.free(a.addr);
    const bytes = list.reduce((n, a) => n + a.size, 0);
    print(v.json, { freed: list.map((a) => a.addr), bytes }, list.length ? `freed ${list.length} allocation${list.length === 1 ? '' : 's'} (${bytes} bytes)` : 'no allocations');
  };
}

/** write's data: hex bytes ("13 05 b0 ff") or @FILE. */
export function parseWriteData(src: string): Buffer {
  if (src.startsWith('@')) {
    try {
      return readFileSync(src.slice(1));
    } catch (e) {
      throw new UsageError(`write: cannot read ${src.slice(1)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const clean = src.replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})+$/i.test(clean)) throw new UsageError('write: data must be hex bytes (e.g. "13 05 b0 ff") or @FILE');
  return Buffer.from(clean, 'hex');
}

/**
 * parseArgs takes "-3" for an option; a negative number is always an argument here (no option
 * is a digit), so it is protected before parsing and restored after.
 */
const NEGATIVE = /^-(\d|\.\d|inf|nan)/i;
const PROTECT = '\u0000';

export function protectNegativeNumbers(argv: string[]): string[] {
  const dashDash = argv.indexOf('--');
  return argv.map((a, i) => ((dashDash < 0 || i < dashDash) && NEGATIVE.test(a) ? PROTECT + a : a));
}

const unprotect = (a: string) => (a.startsWith(PROTECT) ? a.slice(PROTECT.length) : a);

/** Runs until Ctrl+C or SIGTERM (exit 0), or until QEMU ends by itself (said, exit 1). */
async function emulatorCommand(v: CliValues, flags: DeviceFlags, secretFrom?: string): Promise<number> {
  const emu = await Emulator.start({ icount: flags.icount, secret: flags.secret, gdbPort: flags.gdbPort });
  print(v.json, { port: emu.port, pid: emu.pid, protected: !!flags.secret }, `emulated ESP32-P4 on ${emu.port} (Ctrl+C to stop)`);
  console.error(flags.secret
    ? `p4jit: the device requires authentication with the secret from ${secretFrom}`
    : 'p4jit: the device runs UNPROTECTED: any program that opens its port can use it (set P4JIT_SECRET or pass --secret-file FILE to require a secret)');
  if (!v.json) emu.onConsole((text) => process.stdout.write(text)); // the board's console, as a serial monitor shows it
  const stop = () => void emu.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await emu.whenExited;
  if (emu.stopRequested) return 0;
  await emu.stop(); // removes its work folder
  console.error(`p4jit: the emulated ESP32-P4 stopped: ${emu.exitReason}`);
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: protectNegativeNumbers(argv), options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    console.error(`p4jit: ${(e as Error).message}`);
    return 2;
  }
  const v = Object.fromEntries(Object.entries(parsed.values).map(([k, x]) =>
    [k, typeof x === 'string' ? unprotect(x) : Array.isArray(x) ? x.map(unprotect) : x])) as CliValues;
  const [cmd, ...pos] = parsed.positionals.map(unprotect);
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  if (!cmd) {
    console.error(USAGE); // a usage error: on stderr, like the others
    return 2;
  }
  if (v.port && v.emulator) {
    console.error('p4jit: give --port or --emulator, not both');
    return 2;
  }
  let secret;
  try {
    secret = secretFromOptions(v);
  } catch (e) {
    if (!(e instanceof SecretError)) throw e;
    console.error(`p4jit: ${e.message}`);
    return 2;
  }
  if (v.icount && v['no-icount']) {
    console.error('p4jit: give --icount or --no-icount, not both');
    return 2;
  }
  // PING and INFO are answered without authentication
  const flags: DeviceFlags = { port: v.port, emulator: v.emulator, icount: !v['no-icount'], secret: secret?.value, authOptional: cmd === 'ping' || cmd === 'info' };
  if (cmd === 'emulator') return runEmulator(v, flags, secret?.from);
  const activity: Activity = { step: 'start' };
  const interrupts = new Interrupts(() => whatNow(activity));
  let handle: DeviceHandle | undefined;
  try {
    if (v.gdb !== undefined) flags.gdbPort = parseNumber(v.gdb, '--gdb port');
    if (cmd === 'run') {
      const code = await runCommand(pos, v, flags, interrupts.signal, activity);
      return interrupts.exitCode ?? code; // a call that ended after Ctrl+C has printed its result
    }
    if (cmd === 'cache') {
      cacheCommand(pos, v.json, (msg) => new UsageError(msg));
      return 0;
    }
    const action = deviceCommand(cmd, pos, v, interrupts.signal);
    handle = await openDevice(flags);
    interrupts.signal.throwIfAborted();
    const h = handle;
    await action(h).catch((e) => { throw explainForCommand(e, h); });
    return interrupts.exitCode ?? 0;
  } catch (e) {
    if (interrupts.exitCode !== null) return interrupts.exitCode; // whatever failed on the way out
    return reportError(e);
  } finally {
    if (handle) await closeDevice(handle);
    interrupts.dispose();
  }
}

/** What an interrupted command still does before it exits, and how long that may take (ms). */
function whatNow(a: Activity): { doing: string; graceMs: number } {
  if (a.step === 'call') {
    const limit = a.timeLimitMs || 10000;
    return { doing: `waiting for the running call to end at its time limit (${limit} ms)`, graceMs: limit + 5000 };
  }
  const doing = a.step === 'load' || a.step === 'upload-arguments' ? 'stopping the upload' : 'stopping';
  return { doing, graceMs: 5000 };
}

async function runEmulator(v: CliValues, flags: DeviceFlags, secretFrom?: string): Promise<number> {
  try {
    if (v.gdb !== undefined) flags.gdbPort = parseNumber(v.gdb, '--gdb port');
    return await emulatorCommand(v, flags, secretFrom);
  } catch (e) {
    return reportError(e);
  }
}

function reportError(e: unknown): number {
  const msg = errorMessage(e);
  console.error(`p4jit: ${msg.split('\n')[0]}`);
  if (e instanceof UsageError && msg.includes('\n')) console.error(msg.split('\n').slice(1).join('\n'));
  // all of GCC's diagnostics, not only the first error
  if (e instanceof CompileError) console.error(e.diagnostics.trimEnd());
  return e instanceof UsageError ? 2 : 1;
}

export { UsageError };
