/**
 * The build cache's parts that need no device: the private folder rules, writes that never follow
 * a link, the depfile and -aux-info readers, entry verification, and the size bound.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { auxDefinition, parseAuxInfo } from '../../toolchain/aux-info.js';
import { BuildCache, contentKey, parseDepfile } from '../../toolchain/build-cache.js';
import { discoverToolchain } from '../../toolchain/discover.js';
import { buildFunction } from '../../toolchain/function-build.js';
import { CacheDirError, ensurePrivateDir, userCacheDir, writeFileAtomic } from '../../toolchain/private-dir.js';
import { scratchDir } from '../helpers/paths.js';

const work = scratchDir('cache-unit');
after(() => rmSync(work, { recursive: true, force: true }));
const posix = process.platform !== 'win32';

describe('the cache folder is the user\'s own', () => {
  test('per platform: XDG_CACHE_HOME or ~/.cache on Linux, Library/Caches on macOS, LOCALAPPDATA on Windows', () => {
    assert.equal(userCacheDir({ XDG_CACHE_HOME: '/x/cache' }, 'linux', '/home/u'), '/x/cache/p4jit');
    assert.equal(userCacheDir({}, 'linux', '/home/u'), '/home/u/.cache/p4jit');
    assert.equal(userCacheDir({ XDG_CACHE_HOME: 'relative' }, 'linux', '/home/u'), '/home/u/.cache/p4jit', 'a relative XDG_CACHE_HOME is ignored');
    assert.equal(userCacheDir({}, 'darwin', '/Users/u'), '/Users/u/Library/Caches/p4jit');
    assert.match(userCacheDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u'), /AppData.Local.p4jit.Cache$/);
  });

  test('created 0700; a folder of ours that others can read is tightened', { skip: !posix && 'POSIX modes' }, () => {
    const dir = ensurePrivateDir(join(work, 'a', 'build'));
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    chmodSync(dir, 0o755);
    ensurePrivateDir(dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });

  test('refused when others can write to it, when it is a link, or when it lies in a folder anyone can rename in',
    { skip: !posix && 'POSIX modes' }, () => {
      const open = join(work, 'open');
      mkdirSync(open);
      chmodSync(open, 0o777);
      assert.throws(() => ensurePrivateDir(open), (e: unknown) => e instanceof CacheDirError && /can be written by other users \(mode 777\)/.test(e.message));
      const link = join(work, 'link');
      symlinkSync(ensurePrivateDir(join(work, 'real')), link);
      assert.throws(() => ensurePrivateDir(link), /is a symbolic link/);
      // a world-writable parent without the sticky bit lets anyone rename our folder away; it is
      // refused when another user owns it (the second-user test covers that); /tmp (sticky) is fine
      assert.doesNotThrow(() => ensurePrivateDir(join(work, 'under-tmp')));
    });

  test('a file is written as a new file renamed into place: a link planted at its name is replaced, its target untouched', () => {
    const target = join(work, 'root-only.txt');
    writeFileSync(target, 'precious');
    const path = join(work, 'planted.ld');
    symlinkSync(target, path);
    writeFileAtomic(path, 'SECTIONS {}');
    assert.equal(readFileSync(target, 'utf8'), 'precious');
    assert.equal(readFileSync(path, 'utf8'), 'SECTIONS {}');
  });
});

describe('readers of what the compiler writes', () => {
  test('a depfile: continuation lines, escaped spaces and hashes, $$, and backslashes that are part of a name', () => {
    const text = 'out/0-p4jit_entry.c.o: /tmp/st/p4jit_entry.c /src/my\\ file.c \\\n /src/p/back\\slash/k.h /src/a\\#b.h /src/c$$d.h\n\n/src/k.h:\n';
    assert.deepEqual(parseDepfile(text), ['/tmp/st/p4jit_entry.c', '/src/my file.c', '/src/p/back\\slash/k.h', '/src/a#b.h', '/src/c$d.h']);
  });

  test('-aux-info: the definition in the user\'s file, not a declaration or a header\'s', () => {
    const entries = parseAuxInfo([
      '/* compiled from: . */',
      '/* /usr/include/string.h:10:NC */ extern void *memset (void *, int, unsigned int);',
      '/* /src/inc.c:4:NC */ extern void inc (double *a, int n); /* (a, n) double *a; int n; */',
      '/* /src/inc.c:5:NF */ extern void inc (double *a, int n); /* (a, n) double *a; int n; */',
      '/* /src/inc.c:9:OF */ extern int knr (int a); /* (a) int a; */',
      '/* /src/inc.c:12:NF */ static int32_t s32 (const int32_t *p); /* (p) const int32_t *p; */',
    ].join('\n'));
    assert.equal(auxDefinition(entries, '/src/inc.c', 'inc')?.line, 5);
    assert.equal(auxDefinition(entries, '/src/inc.c', 'knr')?.oldStyle, true);
    assert.equal(auxDefinition(entries, '/src/inc.c', 's32')?.declaration, 'static int32_t s32 (const int32_t *p)');
    assert.equal(auxDefinition(entries, '/src/other.c', 'inc'), undefined);
    assert.equal(auxDefinition(entries, '/src/inc.c', 'in'), undefined);
  });
});

describe('entries', () => {
  const toolchain = discoverToolchain();
  const src = join(work, 'src');
  mkdirSync(src, { recursive: true });
  const build = (file: string, name: string, buildRoot: string, maxBytes?: number) => buildFunction({
    file, name, buildRoot, build: { toolchain, optimization: '-O2', extraFlags: [] },
    cacheLimits: maxBytes ? { maxBytes, maxAgeMs: 3600e3 } : undefined,
  });

  test('an entry whose object was cut short is rebuilt, not used', async () => {
    const root = join(work, 'damaged');
    const file = join(src, 'cut.c');
    writeFileSync(file, 'int cut(int x) { return x * 5; }\n');
    const first = await build(file, 'cut', root);
    assert.equal(first.cached, false);
    assert.equal((await build(file, 'cut', root)).cached, true);
    truncateSync(first.objects[0], 100);
    const again = await build(file, 'cut', root);
    assert.equal(again.cached, false, 'the damaged entry was rebuilt');
    assert.equal(again.key, first.key);
    assert.ok(statSync(again.objects[0]).size > 100);
    assert.equal((await build(file, 'cut', root)).cached, true);
  });

  test('two builds of the same key at once both succeed, into one whole entry', async () => {
    const root = join(work, 'race');
    const file = join(src, 'race.c');
    for (let round = 0; round < 3; round++) {
      writeFileSync(file, `int race(int x) { return x + ${round}; }\n`);
      // both look the cache up before either has compiled: both build, both commit
      const [a, b] = await Promise.all([build(file, 'race', root), build(file, 'race', root)]);
      assert.equal(a.cached || b.cached, false);
      assert.equal(a.key, b.key);
      assert.equal(a.buildDir, b.buildDir);
      assert.ok(new BuildCache(root).verify(a.buildDir, 'race', a.key), 'the entry in place is whole');
      for (const o of a.objects) assert.ok(statSync(o).size > 0);
    }
  });

  test('bounded: past the size limit the least recently used entries go', async () => {
    const root = join(work, 'bounded');
    const builds: Awaited<ReturnType<typeof build>>[] = [];
    for (let i = 0; i < 4; i++) {
      const file = join(src, `lru${i}.c`);
      writeFileSync(file, `int lru${i}(int x) { return x + ${i}; }\n`);
      builds.push(await build(file, `lru${i}`, root));
      const t = new Date(Date.now() - (10 - i) * 60e3); // built in order, a minute apart
      utimesSync(builds[i].buildDir, t, t);
    }
    const bytes = (i: number) => new BuildCache(root).entries().find((e) => e.dir === builds[i].buildDir)!.bytes;
    // room for exactly the two most recently used
    const bounded = new BuildCache(root, { maxBytes: bytes(3) + bytes(2), maxAgeMs: 3600e3 });
    const r = bounded.trim(true);
    assert.equal(r.removed, 2);
    assert.deepEqual(bounded.entries().map((e) => e.dir).sort(), [builds[2].buildDir, builds[3].buildDir].sort());
    assert.equal((await build(join(src, 'lru0.c'), 'lru0', root)).cached, false, 'an evicted build is built again');
    assert.equal(bounded.clean().removed, 3);
    assert.deepEqual(bounded.entries(), []);
  });
});

test('a build is keyed by the bytes the compiler read, not by what the file holds when the key is computed', () => {
  // a save landing right after the compile must not file the old objects under the new content
  const f = join(work, 'keyed.c');
  writeFileSync(f, 'int v(void) { return 46; }\n');
  const compiled = readFileSync(f);
  const keyOfCompiled = contentKey('inputs', [f]);
  writeFileSync(f, 'int v(void) { return 47 +; }\n'); // the next save, broken
  assert.equal(contentKey('inputs', [f], new Map([[f, compiled]])), keyOfCompiled, 'the key of what was compiled');
  assert.notEqual(contentKey('inputs', [f]), keyOfCompiled, 'a lookup of the new content misses it');
});
