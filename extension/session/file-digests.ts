/** Content hashes of source files, kept per file while its stat says it is unchanged. */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, type Stats } from 'node:fs';

/**
 * How long after a file's modification its stat cannot yet tell a same-size edit apart: a file
 * hashed within this window is read again next time. Whole-second timestamps (FAT, HFS+, ext3,
 * some network shares) need git's 2 s; finer ones come from the kernel's coarse clock, whose tick
 * is a few milliseconds.
 */
export function racyWindowMs(mtimeMs: number): number {
  return mtimeMs % 1000 === 0 ? 2000 : 50;
}

export class FileDigests {
  /** @param read reads a file's bytes (a counting reader in tests) */
  constructor(private readonly read: (path: string) => Buffer = readFileSync) {}

  private readonly digests = new Map<string, { mtimeMs: number; ctimeMs: number; size: number; ino: number; digest: string; hashedAt: number }>();

  /**
   * A file's content hash, read again only when its stat changed (a call per input in a batch
   * does not re-read the source). As git does for "racy" files, a file modified within
   * racyWindowMs before it was hashed is always read again: a same-size edit within the file
   * system's timestamp granularity would otherwise look unchanged.
   */
  of(path: string): string {
    let st: Stats;
    try {
      st = statSync(path);
    } catch {
      this.digests.delete(path);
      return '(unreadable)';
    }
    const seen = this.digests.get(path);
    if (seen && seen.mtimeMs === st.mtimeMs && seen.ctimeMs === st.ctimeMs && seen.size === st.size && seen.ino === st.ino
      && seen.hashedAt - st.mtimeMs > racyWindowMs(st.mtimeMs)) return seen.digest;
    const hashedAt = Date.now();
    let digest: string;
    try {
      digest = createHash('sha256').update(this.read(path)).digest('hex');
    } catch {
      return '(unreadable)';
    }
    this.digests.set(path, { mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: st.size, ino: st.ino, digest, hashedAt });
    return digest;
  }
}
