/**
 * The build cache holds code that runs on the user's device, so it must be the user's alone: a
 * per-user folder, created 0700, refused when another user owns it or can write to it (or to a
 * folder above it without the sticky bit). Files in it are written as new files and renamed into
 * place, so a planted symbolic link is replaced, never followed.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, renameSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { P4JitError } from '../extension/util/errors.js';

export class CacheDirError extends P4JitError {
  override name = 'CacheDirError';
}

/** The platform's per-user cache folder for P4-JIT (the CLI's build cache lives in it). */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = homedir()): string {
  if (platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'p4jit', 'Cache');
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'p4jit');
  // the XDG spec: a relative $XDG_CACHE_HOME is invalid and ignored
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, '.cache'), 'p4jit');
}

const hasUids = () => typeof process.getuid === 'function' && process.platform !== 'win32';

/** Creates `dir` (0700) when missing and checks that it is private; throws CacheDirError when not. */
export function ensurePrivateDir(dir: string): string {
  const abs = resolve(dir);
  mkdirSync(dirname(abs), { recursive: true });
  try {
    mkdirSync(abs, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  checkPrivateDir(abs);
  return abs;
}

/**
 * Throws CacheDirError unless `dir` is a real folder owned by this user that no one else can
 * write to, in a chain of folders no one else can rename it in. Tightens a folder of ours that
 * others can read (an older version made it 0755) to 0700.
 */
export function checkPrivateDir(dir: string): void {
  const abs = resolve(dir);
  let st: Stats;
  try {
    st = lstatSync(abs);
  } catch (e) {
    throw new CacheDirError(`the build cache ${abs} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (st.isSymbolicLink()) throw new CacheDirError(`the build cache ${abs} is a symbolic link; remove it (P4-JIT creates its own folder)`);
  if (!st.isDirectory()) throw new CacheDirError(`the build cache ${abs} is not a folder; remove it`);
  if (!hasUids()) return; // Windows: the per-user %LOCALAPPDATA% ACLs keep it private
  const me = process.getuid!();
  if (st.uid !== me) {
    throw new CacheDirError(`the build cache ${abs} belongs to user ${st.uid}, not to you (${me}): another user could put code ` +
      'in it that would run on your device. Remove it, or choose a folder of your own');
  }
  if (st.mode & 0o022) {
    throw new CacheDirError(`the build cache ${abs} can be written by other users (mode ${(st.mode & 0o777).toString(8)}): ` +
      `they could put code in it that would run on your device. Remove it, or run "chmod 700 ${abs}"`);
  }
  if (st.mode & 0o077) chmodSync(abs, 0o700);
  for (let p = dirname(abs); ; p = dirname(p)) {
    const up = statSync(p);
    const othersMayRename = (up.mode & 0o002) !== 0 && (up.mode & 0o1000) === 0;
    if (othersMayRename && up.uid !== me) {
      throw new CacheDirError(`the build cache ${abs} lies in ${p}, which every user can write to (no sticky bit): ` +
        'another user could replace the cache. Choose a folder of your own');
    }
    if (dirname(p) === p) break;
  }
}

/**
 * Writes `data` to `path` without following a link there: a new file (O_EXCL, 0600) next to it,
 * renamed over it.
 */
export function writeFileAtomic(path: string, data: string | Buffer): void {
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, data, { flag: 'wx', mode: 0o600 });
  renameSync(tmp, path);
}
