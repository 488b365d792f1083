// Display formatting shared by the panel and the extension (pure, no DOM).
import { MallocCap } from '../protocol/constants.js';

/** Names of the set caps bits; bits without a name are shown as hex so nothing is hidden. */
export function decodeCaps(caps: number): string[] {
  const names: string[] = [];
  let rest = caps >>> 0;
  for (const [name, bit] of Object.entries(MallocCap)) {
    if (rest & bit) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) names.push(formatHex(rest >>> 0));
  return names;
}

/** A 32-bit address as 0x followed by 8 hex digits. */
export function formatHex(value: number): string {
  return '0x' + (value >>> 0).toString(16).padStart(8, '0');
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB'];

/** 512 → "512 B", 4096 → "4 KiB", 1536 → "1.5 KiB", 33554432 → "32 MiB" (`decimals` at most). */
export function formatBytes(bytes: number, decimals = 1): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = unit === 0 ? String(value) : trimZero(value.toFixed(decimals));
  return `${shown} ${BYTE_UNITS[unit]}`;
}

/**
 * The free part of a region, with the decimals it takes to differ from the total whenever
 * something is in use: "31.98 MiB" (free of "32 MiB") rather than a "32 MiB" that hides 17 KiB.
 */
export function formatFree(free: number, total: number): string {
  if (free >= total) return formatBytes(free);
  for (let decimals = 1; decimals <= 3; decimals++) {
    const shown = formatBytes(free, decimals);
    if (shown !== formatBytes(total, decimals)) return shown;
  }
  return `${formatCount(free)} B`;
}

/** 1234567 → "1,234,567" (fixed separator so the panel reads the same everywhere). */
export function formatCount(value: number | bigint): string {
  return (typeof value === 'bigint' ? value : Math.round(value)).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Microseconds in the unit that keeps the number short: "850 µs", "12.3 ms", "2.05 s". */
export function formatMicros(us: number): string {
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1_000_000) return `${threeDigits(us / 1000)} ms`;
  return `${threeDigits(us / 1_000_000)} s`;
}

/** About three significant digits without exponent notation: 1.234 → "1.23", 123.4 → "123". */
function threeDigits(value: number): string {
  const decimals = value < 10 ? 2 : value < 100 ? 1 : 0;
  return trimZero(value.toFixed(decimals));
}

/** Used share of a region in percent (0 when the region is empty), for bars. */
export function usedPercent(free: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(100, Math.max(0, ((total - free) / total) * 100));
}

/** Last path segment, for compact file labels (works for / and \ separators). */
export function baseName(path: string): string {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return cut >= 0 ? path.slice(cut + 1) : path;
}

/** HH:MM:SS of an ISO time in the viewer's time zone; the input itself if it does not parse. */
export function formatClock(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function trimZero(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}
