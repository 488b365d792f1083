/**
 * A call's argument image goes to the device in full, unless the session knows some of its bytes
 * are there already: what the last call's read-back found (an output array passed again holds what
 * came back), with nothing written or run on the device since (DeviceClient.memoryEpoch).
 */

/** Pieces of a write smaller than this are sent whole: a frame costs more than comparing them. */
const SKIP_PIECE = 4096;

/** The [from, to) ranges of `image` (to go at `base`) that differ from what `known` says the device holds. */
export function changedRanges(base: number, image: Buffer, known: { addr: number; bytes: Buffer } | null): [number, number][] {
  if (!known) return [[0, image.length]];
  const ranges: [number, number][] = [];
  for (let at = 0; at < image.length; at += SKIP_PIECE) {
    const end = Math.min(at + SKIP_PIECE, image.length);
    const k = base + at - known.addr;
    const same = k >= 0 && k + (end - at) <= known.bytes.length && image.subarray(at, end).equals(known.bytes.subarray(k, k + (end - at)));
    if (same) continue;
    const last = ranges.at(-1);
    if (last && last[1] === at) last[1] = end;
    else ranges.push([at, end]);
  }
  return ranges;
}
