/**
 * Which firmware an ELF is, in the terms the device reports in INFO (firmware_id), so JIT code is
 * never linked against the symbols of a firmware other than the one running:
 * - ESP-IDF: the SHA-256 of the app's ELF file (esp_app_get_elf_sha256);
 * - the emulator: the SHA-256 of its read-only image, [__image_ro_start, __image_ro_end).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { findSymbol, readElf } from './elf.js';
import { ToolchainError } from './errors.js';
import { P4JitError } from '../extension/util/errors.js';

export function firmwareIdOf(elfPath: string, board: string): string {
  const buf = readFileSync(elfPath);
  if (board !== 'qemu-virt') return createHash('sha256').update(buf).digest('hex');
  const elf = readElf(buf);
  const start = findSymbol(elf, '__image_ro_start')?.value;
  const end = findSymbol(elf, '__image_ro_end')?.value;
  if (start === undefined || end === undefined) throw new ToolchainError(`${elfPath} is not an emulator firmware image`);
  const image = Buffer.alloc(end - start);
  for (const s of elf.sections) {
    if (!s.alloc || s.nobits || s.addr >= end || s.addr + s.size <= start) continue;
    const from = Math.max(s.addr, start);
    const to = Math.min(s.addr + s.size, end);
    s.data.copy(image, from - start, from - s.addr, to - s.addr);
  }
  return createHash('sha256').update(image).digest('hex');
}

export class FirmwareMismatchError extends P4JitError {
  override name = 'FirmwareMismatchError';
}

export function checkFirmwareElf(elfPath: string, board: string, deviceId: string): void {
  const id = firmwareIdOf(elfPath, board);
  if (id !== deviceId) {
    throw new FirmwareMismatchError(
      `the firmware ELF ${elfPath} is not the firmware running on the device ` +
      `(ELF ${id.slice(0, 12)}…, device ${deviceId.slice(0, 12)}…): rebuild/flash, or point the setting at the right ELF`);
  }
}
