/**
 * The build cache: one folder per build, `<name>-<key>`, where the key hashes the compiler, the
 * flags and the content of every file the compiler read (its -MD dependency list). A build is made
 * in a private staging folder and renamed into place whole, so two processes building the same key
 * never see each other's half-written files; an entry is immutable once in place. Each entry's
 * manifest lists its objects with size and SHA-256: a damaged entry is rebuilt, never used. Least
 * recently used entries go when the cache outgrows its bound.
 *
 * <root>/index/<name>-<inputs>.json  the dependency list of the last build of these inputs
 * <root>/<name>-<key>/manifest.json  signature and objects of one build
 * <root>/.tmp-*                      builds in progress
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { readElf } from './elf.js';
import { ensurePrivateDir, writeFileAtomic } from './private-dir.js';
import type { FunctionSignature } from './signature.js';

const FORMAT = 2;
const STAGING = '.tmp-';
const TRASH = '.trash-';

export interface CachedObject {
  /** File name inside the entry (no folder part). */
  file: string;
  size: number;
  sha256: string;
}

export interface Manifest {
  format: number;
  name: string;
  key: string;
  signature: FunctionSignature;
  objects: CachedObject[];
}

export interface CacheLimits {
  /** Total size above which least recently used entries go (default 256 MiB). */
  maxBytes: number;
  /** Entries unused for this long go (default 30 days). */
  maxAgeMs: number;
}

export const DEFAULT_LIMITS: CacheLimits = { maxBytes: 256 << 20, maxAgeMs: 30 * 24 * 3600e3 };
/** A staging folder older than this was left by a process that died. */
const STALE_STAGING_MS = 3600e3;
/** The bound is checked at most this often (a marker file's mtime tells when it last was). */
const TRIM_INTERVAL_MS = 60e3;

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const SAFE_FILE = /^[\w.@+-]+$/;

/**
 * The content key of a build: its inputs' hash and every dependency's path and content; undefined
 * when one is gone. `known` gives the content of files already read (the source as the compiler
 * got it), so a save landing while the key is computed cannot put the new content's key on the
 * old build's objects.
 */
export function contentKey(inputs: string, deps: string[], known: ReadonlyMap<string, Buffer> = new Map()): string | undefined {
  const h = createHash('sha256').update(inputs);
  for (const d of [...deps].sort()) {
    let data: Buffer;
    try {
      data = known.get(d) ?? readFileSync(d);
    } catch {
      return undefined;
    }
    h.update(`\0${d}\0`).update(sha256(data));
  }
  return h.digest('hex').slice(0, 20);
}

/**
 * The files a GCC -MD depfile lists (its first rule's prerequisites), unescaped: `\ ` is a
 * space, `\#` a hash, `$$` a dollar; any other backslash is part of the name.
 */
export function parseDepfile(text: string): string[] {
  const joined = text.replace(/\\\r?\n/g, ' ');
  const rule = joined.split(/\r?\n/)[0] ?? '';
  const colon = rule.search(/:(\s|$)/);
  const body = colon < 0 ? '' : rule.slice(colon + 1);
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\' && (body[i + 1] === ' ' || body[i + 1] === '#')) {
      cur += body[++i];
    } else if (c === '$' && body[i + 1] === '$') {
      cur += '$';
      i++;
    } else if (/\s/.test(c)) {
      if (cur) out.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  if (cur) out.push(cur);
  return out;
}

export class BuildCache {
  readonly root: string;

  /** Opens (creating it 0700) the cache at `root`; throws CacheDirError when the folder is not private. */
  constructor(root: string, readonly limits: CacheLimits = DEFAULT_LIMITS) {
    this.root = ensurePrivateDir(root);
  }

  private indexFile(name: string, inputs: string): string {
    return join(this.root, 'index', `${name}-${inputs}.json`);
  }

  entryDir(name: string, key: string): string {
    return join(this.root, `${name}-${key}`);
  }

  /** The entry built from these inputs whose dependencies are unchanged, verified; undefined for a miss. */
  lookup(name: string, inputs: string): { dir: string; manifest: Manifest } | undefined {
    let deps: unknown;
    try {
      const file = this.indexFile(name, inputs);
      if (!lstatSync(file).isFile()) return undefined;
      deps = (JSON.parse(readFileSync(file, 'utf8')) as { deps?: unknown }).deps;
    } catch {
      return undefined;
    }
    if (!Array.isArray(deps) || !deps.every((d) => typeof d === 'string')) return undefined;
    const key = contentKey(inputs, deps);
    if (!key) return undefined;
    const dir = this.entryDir(name, key);
    const manifest = this.verify(dir, name, key);
    if (!manifest) return undefined;
    const now = new Date();
    try {
      utimesSync(dir, now, now); // least recently used goes first
    } catch { /* a concurrent trim: the entry is still whole for this use */ }
    return { dir, manifest };
  }

  /** The entry's manifest when every object is there, whole and a parseable ELF; undefined otherwise. */
  verify(dir: string, name: string, key: string): Manifest | undefined {
    try {
      if (!lstatSync(dir).isDirectory()) return undefined;
      const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
      if (m.format !== FORMAT || m.name !== name || m.key !== key || !Array.isArray(m.objects) || m.objects.length === 0) return undefined;
      for (const o of m.objects) {
        if (typeof o.file !== 'string' || !SAFE_FILE.test(o.file)) return undefined;
        const path = join(dir, o.file);
        const st = lstatSync(path);
        if (!st.isFile() || st.size !== o.size) return undefined;
        const data = readFileSync(path);
        if (sha256(data) !== o.sha256) return undefined;
        readElf(data);
      }
      return m;
    } catch {
      return undefined;
    }
  }

  /** A new private folder to build in. */
  stage(): string {
    return mkdtempSync(join(this.root, STAGING));
  }

  /**
   * Puts a staged build in place as `<name>-<key>` and returns its folder. When another process
   * got there first with a whole entry, that one is used and the staged copy dropped; a damaged
   * entry is replaced.
   */
  commit(staging: string, name: string, key: string, signature: FunctionSignature, objects: string[], deps: string[], inputs: string): string {
    const manifest: Manifest = {
      format: FORMAT, name, key, signature,
      objects: objects.map((file) => {
        const data = readFileSync(join(staging, file));
        return { file, size: data.length, sha256: sha256(data) };
      }),
    };
    writeFileSync(join(staging, 'manifest.json'), JSON.stringify(manifest), { flag: 'wx' });
    const dir = this.entryDir(name, key);
    for (let attempt = 0; ; attempt++) {
      try {
        renameSync(staging, dir);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'EPERM') throw e;
        if (this.verify(dir, name, key) || attempt > 2) {
          rmSync(staging, { recursive: true, force: true });
          break;
        }
        this.discard(dir); // damaged: out of the way, then ours goes in
      }
    }
    mkdirSync(join(this.root, 'index'), { recursive: true, mode: 0o700 });
    writeFileAtomic(this.indexFile(name, inputs), JSON.stringify({ deps }));
    this.trim();
    return dir;
  }

  /** Moves a folder out of the way at once (a rename) and deletes it. */
  private discard(dir: string): void {
    const trash = join(this.root, `${TRASH}${randomBytes(6).toString('hex')}`);
    try {
      renameSync(dir, trash);
    } catch {
      return;
    }
    rmSync(trash, { recursive: true, force: true });
  }

  /** Entries with their size and last use, most recent first. */
  entries(): Array<{ dir: string; bytes: number; usedMs: number }> {
    const out: Array<{ dir: string; bytes: number; usedMs: number }> = [];
    for (const e of readdirSync(this.root, { withFileTypes: true })) {
      if (!e.isDirectory() || e.name === 'index' || e.name.startsWith('.')) continue;
      const dir = join(this.root, e.name);
      try {
        const bytes = readdirSync(dir).reduce((n, f) => n + lstatSync(join(dir, f)).size, 0);
        out.push({ dir, bytes, usedMs: statSync(dir).mtimeMs });
      } catch { /* removed meanwhile */ }
    }
    return out.sort((a, b) => b.usedMs - a.usedMs);
  }

  /**
   * Keeps the cache within its limits: least recently used entries go first, then anything
   * unused for longer than maxAgeMs, and staging folders a dead process left. `force` skips the
   * once-a-minute rate limit.
   */
  trim(force = false): { removed: number; bytes: number } {
    const marker = join(this.root, '.trimmed');
    const now = Date.now();
    if (!force) {
      try {
        if (now - statSync(marker).mtimeMs < TRIM_INTERVAL_MS) return { removed: 0, bytes: 0 };
      } catch { /* never trimmed */ }
    }
    writeFileAtomic(marker, '');
    let total = 0;
    let removed = 0;
    let freed = 0;
    for (const e of this.entries()) {
      total += e.bytes;
      if (total > this.limits.maxBytes || now - e.usedMs > this.limits.maxAgeMs) {
        this.discard(e.dir);
        removed++;
        freed += e.bytes;
      }
    }
    for (const e of readdirSync(this.root)) {
      if (!e.startsWith(STAGING) && !e.startsWith(TRASH)) continue;
      const dir = join(this.root, e);
      try {
        if (now - statSync(dir).mtimeMs > STALE_STAGING_MS) rmSync(dir, { recursive: true, force: true });
      } catch { /* gone */ }
    }
    return { removed, bytes: freed };
  }

  /** Empties the cache (p4jit cache clean). */
  clean(): { removed: number; bytes: number } {
    const all = this.entries();
    for (const e of all) this.discard(e.dir);
    rmSync(join(this.root, 'index'), { recursive: true, force: true });
    return { removed: all.length, bytes: all.reduce((n, e) => n + e.bytes, 0) };
  }
}
