/** p4jit run <file.c> <function> [arg ...]: compile, load, call, print. */
import { existsSync, statSync } from 'node:fs';

import { ArgumentError, measureArguments } from '../../toolchain/args.js';
import { discoverToolchain } from '../../toolchain/discover.js';
import { buildFunction, checkRunTarget } from '../../toolchain/function-build.js';
import { SignatureError } from '../../toolchain/signature.js';
import type { Emulator } from '../emulator/launcher.js';
import { gdbInstructions } from '../emulator/qemu-args.js';
import { defaultSettings } from '../session/defaults.js';
import { describeResult, resultJson } from '../session/format.js';
import { JitSession, type Progress } from '../session/jit-session.js';
import type { SessionSettings } from '../session/types.js';
import { closeDevice, explainForCommand, openDevice, type DeviceFlags } from '../connect/open-device.js';
import { UsageError, type CliValues } from './main.js';
import { P4JitError } from '../util/errors.js';

/** What the command is doing, for the interrupt message (see Interrupts). */
export interface Activity {
  step: Progress['step'] | 'start';
  timeLimitMs?: number;
}

export { DEFAULT_BUILD_ROOT } from '../session/defaults.js';

const STEP_TEXT: Record<Progress['step'], (p: Progress) => string> = {
  build: (p) => `building ${p.function}`,
  load: (p) => `loading ${p.function} onto the device`,
  'upload-arguments': (p) => `uploading ${p.bytes} bytes of arguments`,
  call: (p) => `calling ${p.function}${p.timeLimitMs ? ` (time limit ${p.timeLimitMs} ms)` : ''}`,
  'read-back': (p) => `reading back ${p.bytes} bytes`,
};

export async function runCommand(pos: string[], v: CliValues, flags: DeviceFlags, signal?: AbortSignal, activity: Activity = { step: 'start' }): Promise<number> {
  if (pos.length < 2) throw new UsageError('run takes <file.c> <function> [arg ...]');
  const [file, name, ...args] = pos;
  const timeLimit = v['time-limit'] !== undefined ? Number(v['time-limit']) : 0;
  if (!Number.isInteger(timeLimit) || timeLimit < 0) throw new UsageError(`--time-limit: "${v['time-limit']}" is not a whole number of milliseconds`);
  const settings = defaultSettings({
    toolchainPath: v.toolchain,
    firmwareElf: v['firmware-elf'],
    optimization: v.O ? `-O${v.O.replace(/^-?O/, '')}` : '-O2',
    extraFlags: v.flag ?? [],
    callTimeLimitMs: timeLimit,
    linkFolderSources: !!v['link-folder'],
  });
  await checkCall(file, name, args, settings);
  const h = await openDevice(flags);
  try {
    // without --firmware-elf, an emulator started here links against its own image (and one
    // behind --port does when it reports running this package's image)
    settings.firmwareElf ??= h.emulator?.image;
    const session = new JitSession(h.client, settings);
    session.on('progress', (p: Progress) => {
      activity.step = p.step;
      activity.timeLimitMs = p.timeLimitMs;
      if (v.verbose) console.error(`p4jit: ${STEP_TEXT[p.step](p)}`);
    });
    try {
      if (flags.gdbPort !== undefined) await waitForDebugger(session, file, name, flags.gdbPort, h.emulator, signal);
      const r = await session.run(file, name, args, { signal }).catch((e) => { throw explainForCommand(e, h); });
      console.log(v.json ? resultJson(r) : describeResult(r));
      if (r.fault) console.error(`p4jit: ${r.fault.message}`);
      if (r.overrun) console.error(`p4jit: ${r.overrun.message}`);
      return r.fault || r.overrun ? 1 : 0;
    } finally {
      await session.freeAll(); // also after a failed call: nothing of this run stays on the device
    }
  } finally {
    await closeDevice(h);
  }
}

/**
 * The mistakes that need no device — a missing file, a function that is not there, a compile
 * error, arguments that do not fit its parameters — are found before a device is opened. The
 * function is built here (into the cache the run then finds it in), so its signature is the one
 * the build's flags give.
 */
export async function checkCall(file: string, name: string, args: string[], settings: SessionSettings = defaultSettings()): Promise<void> {
  if (!existsSync(file) || !statSync(file).isFile()) throw new UsageError(`no such file: ${file}`);
  try {
    checkRunTarget(file);
    const built = await buildFunction({
      file, name, buildRoot: settings.buildRoot, linkFolderSources: settings.linkFolderSources,
      build: { toolchain: discoverToolchain(settings.toolchainPath), optimization: settings.optimization, extraFlags: settings.extraFlags },
    });
    // measured, not built: an array too large for the device is refused once its heap is known
    measureArguments(args, built.signature);
  } catch (e) {
    if (e instanceof ArgumentError || (e instanceof SignatureError && e.code === 'not-found')) throw new UsageError(e.message);
    throw e;
  }
}

/**
 * --gdb PORT: the function is loaded first, the exact gdb commands to stop inside it are printed,
 * and the call waits for Enter so there is time to attach.
 */
async function waitForDebugger(session: JitSession, file: string, name: string, port: number, emu?: Emulator, signal?: AbortSignal): Promise<void> {
  if (!emu) throw new UsageError('--gdb works with the emulator only (a board is debugged over JTAG)');
  const fn = await session.load(file, name);
  const lines = gdbInstructions({ port, firmwareElf: emu.image, functionElf: fn.elfPath, address: fn.entry });
  console.error([`${name} is loaded at 0x${fn.addr.toString(16)} (entry 0x${fn.entry.toString(16)}).`, ...lines, 'Press Enter to call it.'].join('\n'));
  let done = () => {};
  try {
    await new Promise<void>((resolve, reject) => {
      const enter = () => resolve();
      process.stdin.once('data', enter);
      process.stdin.once('end', enter);
      // a QEMU that dies meanwhile (killed, or quit from gdb) is reported now, not after Enter
      const gone = () => reject(new P4JitError(`the emulated ESP32-P4 stopped while waiting for Enter: ${emu.exitReason || 'its port closed'}`));
      void emu.whenExited.then(gone);
      const interrupted = () => reject(signal!.reason);
      signal?.addEventListener('abort', interrupted, { once: true });
      done = () => {
        process.stdin.off('data', enter).off('end', enter);
        signal?.removeEventListener('abort', interrupted);
      };
    });
  } finally {
    done();
    process.stdin.pause();
  }
}
