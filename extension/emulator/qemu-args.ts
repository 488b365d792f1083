/**
 * The QEMU command line of the emulated ESP32-P4. Kept apart from the launcher so the board
 * description (CPU, memory, devices, options passed to the firmware) reads in one place, with the
 * two facts the launcher needs from QEMU's output (which pty is the protocol link) and the gdb
 * recipe that goes with the gdb stub.
 */
import { P4JitError } from '../util/errors.js';

/**
 * How the firmware's protocol reaches the host. Both are a serial pty opened like a board's port.
 * - `virtio`: a virtio-serial port (virtio-mmio); uploads run at several MB/s.
 * - `uart`: the emulated NS16550A UART; about 0.05-0.3 MB/s, kept as a fallback.
 * The firmware uses the virtio port when the machine has one, else the UART.
 */
export type EmulatorLink = 'virtio' | 'uart';

export interface EmulatorOptions {
  /**
   * Run QEMU with -icount shift=0 (the default; false turns it off): cycle counts are instruction
   * counts, identical run to run, and time limits count virtual time (one instruction = 1 ns).
   * Without it, cycles are host time-stamp-counter ticks (INFO cpu_hz tells their rate): they vary
   * from run to run, but compute-bound code runs about twice as fast (README, Benchmarks).
   */
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
  /** The protocol link (default `virtio`). */
  link?: EmulatorLink;
}

/** Instruction counting is on unless turned off. */
export const icountOn = (opts: EmulatorOptions) => opts.icount !== false;

/** Where the firmware looks for the options block (BOARD_OPTIONS_ADDR in firmware/emulator/board.h). */
export const OPTIONS_ADDR = 0x803ff000;
const OPTIONS_MAGIC = 0x4f4a3450; // "P4JO"

/**
 * The id (and so the label in QEMU's "char device redirected to … (label …)" line) of the pty
 * that carries the protocol, whichever link is chosen.
 */
export const PROTOCOL_CHARDEV = 'serial0';

/** The virtio-serial port number the firmware opens (PORT_ID in firmware/emulator/link_virtio.c). */
const VIRTIO_PORT_NR = 1;

/** The options block the firmware reads at boot (firmware/emulator/options.c). */
export function encodeOptionsBlock(opts: EmulatorOptions): Buffer {
  const secret = Buffer.from(opts.secret ?? '', 'utf8');
  if (secret.length > 64) throw new P4JitError('emulator secret: at most 64 bytes');
  const b = Buffer.alloc(32 + 64);
  const words = [OPTIONS_MAGIC, 1, icountOn(opts) ? 1 : 0, opts.maxAllocs ?? 0, opts.maxAllocBytes ?? 0,
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
    '-chardev', `pty,id=${PROTOCOL_CHARDEV}`,
  ];
  if (opts.link === 'uart') {
    args.push('-serial', `chardev:${PROTOCOL_CHARDEV}`);
  } else {
    // A serial port, not a virtconsole: QEMU throttles a port when the host reads slowly but
    // drops console bytes the pty cannot take at once. max_ports=2 turns on the multiport
    // protocol serial ports need (port 0 is reserved for a console).
    args.push(
      '-device', 'virtio-serial-device,max_ports=2',
      '-device', `virtserialport,chardev=${PROTOCOL_CHARDEV},nr=${VIRTIO_PORT_NR},name=p4jit`,
      // the UART is then the board's console, on QEMU's stdout (Emulator.console): what JIT code
      // prints for a host that did not ask for OUTPUT frames goes there, as to a P4's UART0
      '-chardev', 'stdio,id=console,signal=off',
      '-serial', 'chardev:console',
    );
  }
  if (icountOn(opts)) args.push('-icount', 'shift=0');
  if (opts.gdbPort !== undefined) {
    args.push('-gdb', `tcp:127.0.0.1:${opts.gdbPort}`);
    if (opts.gdbWait) args.push('-S');
  }
  return args;
}

/** A pty QEMU announced on stdout: "char device redirected to /dev/pts/3 (label serial0)". */
export function parsePtyLine(line: string): { path: string; label: string } | undefined {
  const m = /char device redirected to (\S+) \(label ([^)]+)\)/.exec(line);
  return m ? { path: m[1], label: m[2] } : undefined;
}

/** The protocol link's pty in QEMU's stdout so far, once it has been announced. */
export function protocolPty(stdout: string): string | undefined {
  for (const line of stdout.split('\n')) {
    const pty = parsePtyLine(line);
    if (pty?.label === PROTOCOL_CHARDEV) return pty.path;
  }
  return undefined;
}

export interface GdbSessionInfo {
  /** The gdb stub's TCP port (EmulatorOptions.gdbPort). */
  port: number;
  /** The emulator image (its symbols: the firmware functions JIT code calls). */
  firmwareElf: string;
  /** The uploaded function's ELF, linked at its device address. */
  functionElf?: string;
  /** Where to stop: the uploaded function's entry (or any code address). */
  address?: number;
}

/**
 * The gdb commands that attach to the emulator and stop in uploaded code, one per line (what the
 * CLI prints, and what `gdb -batch -ex …` runs in tests). Notes from QEMU 7.2 + gdb 13:
 * - `break *ADDR`, not `break name`: a name can resolve into the firmware's symbols first.
 * - a breakpoint set before the upload still hits after it (QEMU checks it on translation).
 * - the ELF is linked at its device address, so add-symbol-file needs no offset.
 * - while stopped, the emulator's clock stops too: time limits do not run out.
 */
export function gdbCommands(info: GdbSessionInfo): string[] {
  const lines = [
    `file ${info.firmwareElf}`,
    `target remote 127.0.0.1:${info.port}`,
  ];
  if (info.functionElf) lines.push(`add-symbol-file ${info.functionElf}`);
  if (info.address !== undefined) lines.push(`break *0x${(info.address >>> 0).toString(16)}`);
  lines.push('continue');
  return lines;
}

/** Human-readable instructions for a gdb session on the emulator (the CLI prints these). */
export function gdbInstructions(info: GdbSessionInfo, gdb = 'gdb-multiarch'): string[] {
  return [
    `Debug with gdb (${gdb}, or riscv32-esp-elf-gdb):`,
    `  ${gdb} -q`,
    ...gdbCommands(info).map((c) => `  (gdb) ${c}`),
    '  then run the function; gdb stops at the breakpoint (info registers, stepi, x/8i $pc).',
    '  Leave with "detach" so the emulator keeps running.',
  ];
}
