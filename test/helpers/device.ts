/**
 * The device a suite runs against: the emulated ESP32-P4 it starts, or — when `npm run test:board`
 * gives one (P4JIT_TEST_BOARD_PORT) — a board's port. Suites start their device through here, and
 * mark tests that need the emulator with `emulatorOnly(reason)`: on a board those are skipped with
 * the reason, which the board run's summary lists.
 */
import { DeviceClient, type ClientOptions } from '../../extension/device/client.js';
import { Emulator, type StartOptions } from '../../extension/emulator/launcher.js';

/** Set by test/board/run-board.ts for the suites it runs. */
export const BOARD_PORT = process.env.P4JIT_TEST_BOARD_PORT || undefined;
/** The board's firmware ELF (P4JIT_FIRMWARE_ELF), for code that calls firmware functions. */
const BOARD_ELF = process.env.P4JIT_FIRMWARE_ELF || undefined;

export const onBoard = BOARD_PORT !== undefined;

export interface DeviceUnderTest {
  readonly port: string;
  /** The firmware's ELF (the emulator's image; on a board P4JIT_FIRMWARE_ELF, if given). */
  readonly image: string | undefined;
  /** The emulator behind the port, when it is one. */
  readonly emulator: Emulator | undefined;
  connect(opts?: ClientOptions): Promise<DeviceClient>;
  stop(): Promise<void>;
}

/**
 * The emulator with these options, or the board. Options that only an emulator can take (its
 * link, limits, secret, icount) are ignored on a board: tests that depend on them are emulatorOnly.
 */
export async function startDevice(opts: StartOptions = {}): Promise<DeviceUnderTest> {
  if (BOARD_PORT) {
    const port = BOARD_PORT;
    return { port, image: BOARD_ELF, emulator: undefined, connect: (o) => DeviceClient.open(port, o), stop: async () => {} };
  }
  const emu = await Emulator.start(opts);
  return { port: emu.port, image: emu.image, emulator: emu, connect: (o) => emu.connect(o), stop: () => emu.stop() };
}

/** Test options: skipped on a board, with the reason. */
export function emulatorOnly(reason: string): { skip: string | false } {
  return { skip: onBoard ? `emulator only: ${reason}` : false };
}

/** Why the tests that fault or run away are the emulator's (one wording, so the summary lists each once). */
export const FAULT_RESETS_A_BOARD = 'a fault resets a board (ESP-IDF\'s panic handler)';
export const BOARD_CANNOT_STOP_CODE = 'a board cannot stop running code at its time limit (it only warns)';

/** Test options: skipped on a board run without P4JIT_FIRMWARE_ELF. */
export function needsFirmwareElf(): { skip: string | false } {
  return { skip: onBoard && !BOARD_ELF ? 'needs the firmware ELF: set P4JIT_FIRMWARE_ELF to the board\'s build' : false };
}
