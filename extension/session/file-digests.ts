/** Content hashes of source files, kept per file while its stat says it is unchanged. */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, type Stats } from 'node:fs';

/** A file hashed within this long of its last modification is read again next time. */
const RACY_MS = 2000;

export class FileDigests {
  private readonly digests = new Map<string, { mtimeMs: number; ctimeMs: number; size: number; ino: number; digest: string; hashedAt: number }>();

  /**
   * A file's content hash, read again only when its stat changed (a call per input in a batch
   * does not re-read the source). As git does for "racy" files, a file modified less than
   * RACY_MS before it was hashed is always read again: a same-size edit within the file system's
   * timestamp granularity would otherwise look unchanged.
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
      && seen.hashedAt - st.mtimeMs > RACY_MS) return seen.digest;
    const hashedAt = Date.now();
    let digest: string;
    try {
      digest = createHash('sha256').update(readFileSync(path)).digest('hex');
    } catch {
      return '(unreadable)';
    }
    this.digests.set(path, { mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: st.size, ino: st.ino, digest, hashedAt });
    return digest;
  }
}
