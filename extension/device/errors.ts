/** Typed errors of the device client: each says what happened in words a user can act on. */
import { cmdName, Err, errName, errText } from '../protocol/constants.js';

import { P4JitError, ProtocolError } from '../protocol/errors.js';

export { P4JitError, ProtocolError };

/** The device answered with an error reply. */
export class DeviceError extends P4JitError {
  override name = 'DeviceError';
  constructor(
    readonly cmd: number,
    readonly code: number,
    readonly detail: number[] = [],
  ) {
    super(`${cmdName(cmd)}: ${errText(code)} (${errName(code)})${DeviceError.describeDetail(code, detail)}`);
  }
  get codeName(): string {
    return errName(this.code);
  }
  private static describeDetail(code: number, d: number[]): string {
    const hex = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
    if (code === Err.FAULT && d.length >= 3) return `: mcause ${d[0]}, pc ${hex(d[1])}, mtval ${hex(d[2])}`;
    if (code === Err.TIMEOUT && d.length >= 1) return `: stopped at pc ${hex(d[0])}`;
    if (code === Err.OVERRUN && d.length >= 4) return `: allocation ${hex(d[0])} (${d[1]} bytes), ${d[2]} bytes before it and ${d[3]} after it damaged`;
    return '';
  }
}

/** No reply within the time allowed. */
export class TimeoutError extends P4JitError {
  override name = 'TimeoutError';
}

/** The device sent something that breaks the protocol. */

/** The link to the device is gone (unplugged, rebooted, emulator stopped). */
export class DisconnectedError extends P4JitError {
  override name = 'DisconnectedError';
}

/** ESP-IDF esp_reset_reason_t names (INFO's reset_reason). */
const RESET_REASONS: Record<number, string> = {
  1: 'power-on', 2: 'external pin', 3: 'software reset', 4: 'panic', 5: 'interrupt watchdog',
  6: 'task watchdog', 7: 'watchdog', 8: 'deep sleep', 9: 'brownout', 10: 'SDIO',
};

export function resetReasonName(reason: number): string {
  return RESET_REASONS[reason] ?? `reset reason ${reason}`;
}

/** The device answers again, but it restarted meanwhile (its boot id changed): whatever it held is gone. */
export class DeviceRestartedError extends P4JitError {
  override name = 'DeviceRestartedError';
  constructor(readonly cmd: number, readonly resetReason: number, readonly original: unknown) {
    super(`the device restarted during ${cmdName(cmd)} (${resetReasonName(resetReason)}): its allocations are gone`);
  }
}

/**
 * The device stopped answering while it served a request and answers no PING since: code that
 * disabled interrupts and spins, or a hung firmware. Only a restart brings it back.
 */
export class DeviceUnresponsiveError extends TimeoutError {
  override name = 'DeviceUnresponsiveError';
  constructor(readonly cmd: number, readonly emulated: boolean, waitedMs: number) {
    super(`the device stopped answering during ${cmdName(cmd)} (no reply, and no answer to PING for ${waitedMs} ms after): ` +
      'code that disables interrupts and then loops, or hangs the firmware, cannot be stopped from outside; ' +
      (emulated ? 'restart the emulated ESP32-P4' : 'restart the board (its reset button, or unplug it and plug it in again)'));
  }
}
