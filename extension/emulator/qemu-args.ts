/**
 * The QEMU command line of the emulated ESP32-P4. Kept apart from the launcher so the board
 * description (CPU, memory, devices, options passed to the firmware) reads in one place.
 */

export interface EmulatorOptions {
  /** Run QEMU with -icount shift=0: cycle counts become instruction counts, repeatable run to run. */
  icount?: boolean;
  /** Start QEMU's gdb stub on this TCP port (and wait for gdb before running when gdbWait). */
  gdbPort?: number;
  gdbWait?: boolean;
  /** Shared secret: the emulated device then requires authentication. */
  secret?: string;
  maxAllocs?: number;
  maxAllocBytes?: number;
  defaultCallMs?: number;
  maxCallMs?: number;
}

/** Where the firmware looks for the options block (BOARD_OPTIONS_ADDR in firmware/emulator/board.h). */
export const OPTIONS_ADDR = 0x803ff000;
const OPTIONS_MAGIC = 0x4f4a3450; // "P4JO"

/** The options block the firmware reads at boot (firmware/emulator/options.c). */
export function encodeOptionsBlock(opts: EmulatorOptions): Buffer {
  const secret = Buffer.from(opts.secret ?? '', 'utf8');
  if (secret.length > 64) throw new Error('emulator secret: at most 64 bytes');
  const b = Buffer.alloc(32 + 64);
  const words = [OPTIONS_MAGIC, 1, opts.icount ? 1 : 0, opts.maxAllocs ?? 0, opts.maxAllocBytes ?? 0,
    opts.defaultCallMs ?? 0, opts.maxCallMs ?? 0, secret.length];
  words.forEach((w, i) => b.writeUInt32LE(w >>> 0, i * 4));
  secret.copy(b, 32);
  return b;
}

export function qemuArgs(image: string, optionsFile: string, opts: EmulatorOptions = {}): string[] {
  const args = [
    '-M', 'virt',
    '-cpu', 'rv32,d=false,h=false,s=false', // RV32IMAFC like the P4's HP core: no D, no H, no S
    '-bios', 'none',
    '-m', '64M',
    '-display', 'none',
    '-monitor', 'none',
    '-nodefaults',
    '-kernel', image,
    '-device', `loader,file=${optionsFile},addr=0x${OPTIONS_ADDR.toString(16)},force-raw=on`,
    '-serial', 'pty',
  ];
  if (opts.icount) args.push('-icount', 'shift=0');
  if (opts.gdbPort !== undefined) {
    args.push('-gdb', `tcp:127.0.0.1:${opts.gdbPort}`);
    if (opts.gdbWait) args.push('-S');
  }
  return args;
}
