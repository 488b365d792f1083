/**
 * The build cache as users meet it, on emulated ESP32-P4s: builds keyed by everything that
 * decides them (headers, -D flags), signatures as the compiler sees them, damaged and concurrent
 * builds, one link per load, and a cache another local user cannot take over.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { execa } from 'execa';

import type { DeviceClient } from '../../extension/device/client.js';
import { ensureFirmwareImage } from '../../extension/emulator/image.js';
import { Emulator } from '../../extension/emulator/launcher.js';
import { defaultSettings } from '../../extension/session/defaults.js';
import { JitSession } from '../../extension/session/jit-session.js';
import { CompileError, linkAt, runCompiler } from '../../toolchain/build.js';
import { discoverToolchain } from '../../toolchain/discover.js';
import { buildFunction } from '../../toolchain/function-build.js';
import { findFunction } from '../../toolchain/signature.js';
import { generateWrapper } from '../../toolchain/wrapper.js';
import { repoRoot, scratchDir } from '../helpers/paths.js';

const scratchDirs: string[] = [];
const scratch = (tag: string) => {
  const dir = scratchDir(tag);
  scratchDirs.push(dir);
  return dir;
};
const BIN = join(repoRoot, 'bin', 'p4jit.js');
/** The CLI with its per-user cache under `cacheHome` (XDG_CACHE_HOME). */
const cli = (args: string[], cacheHome: string, cwd = repoRoot) =>
  execa(process.execPath, [BIN, ...args], { reject: false, cwd, env: { XDG_CACHE_HOME: cacheHome } });
const json = (r: { stdout: string; stderr?: string; exitCode?: number }) => {
  try {
    return JSON.parse(r.stdout) as { return: unknown; arrays: Record<string, unknown[]> };
  } catch {
    throw new Error(`the CLI printed no JSON (exit ${r.exitCode}): ${r.stdout}\n${r.stderr ?? ''}`);
  }
};

let emuA: Emulator;
let emuB: Emulator;
let src: string;
const toolchain = discoverToolchain();

before(async () => {
  // this package's own image, as `p4jit emulator` runs it (a device behind --port is recognised by it)
  const image = await ensureFirmwareImage();
  [emuA, emuB] = await Promise.all([Emulator.start({ image }), Emulator.start({ image })]);
  src = scratch('cache-src');
  chmodSync(src, 0o755); // the second user may read the sources, as in a shared /tmp
});

after(async () => {
  await Promise.all([emuA?.stop(), emuB?.stop()]);
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

const write = (name: string, text: string) => {
  const path = join(src, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
};

describe('library: loads', () => {
  let client: DeviceClient;
  before(async () => {
    client = await emuA.connect();
  });
  after(() => client.close());

  test('a first load links once, at the allocated address, with room from the objects\' sections', async () => {
    const root = scratch('cache-once');
    const file = write('once.c', 'int once(int x) { return x * 11; }\n');
    const session = new JitSession(client, defaultSettings({ buildRoot: root }));
    try {
      const allocs = client.stats.requests;
      const fn = await session.load(file, 'once');
      const elfs = readdirSync(fn.elfPath.replace(/[\\/][^\\/]*$/, '')).filter((f) => f.endsWith('.elf'));
      assert.deepEqual(elfs, [`once@${fn.addr.toString(16).padStart(8, '0')}.elf`], 'one link, named by its address');
      assert.ok(fn.size <= fn.allocSize, `${fn.size} bytes in ${fn.allocSize}`);
      assert.equal(client.stats.requests - allocs, 2, 'one ALLOC and one WRITE_MEM');
      assert.equal((await session.call(fn.key, ['3'])).returnValue, 33);
    } finally {
      await session.freeAll();
    }
  });

  test('code the objects do not show (a libgcc helper) that outgrows the room is linked again, larger', async () => {
    const file = write('div64.c', 'long long div64(long long a, long long b) { return a / b; }\n');
    const session = new JitSession(client, defaultSettings({ buildRoot: scratch('cache-libgcc') }));
    try {
      const r = await session.run(file, 'div64', ['123456789012345', '-1000']);
      assert.equal(r.returnValue, 123456789012345n / -1000n);
      const [fn] = session.loaded();
      assert.ok(fn.size <= fn.allocSize);
    } finally {
      await session.freeAll();
    }
  });

  test('a reload never leaves the function unlisted: while the old version is freed, the new one is loaded', async () => {
    const file = write('swap.c', 'int swap(void) { return 1; }\n');
    const session = new JitSession(client, defaultSettings({ buildRoot: scratch('cache-swap') }));
    const free = client.free.bind(client);
    try {
      const old = await session.load(file, 'swap');
      write('swap.c', 'int swap(void) { return 2; }\n');
      // what a lookup by key sees at the moment the old version's FREE goes out (the panel or the
      // palette looks up outside the device lock, then calls under it)
      const seen: (number | undefined)[] = [];
      client.free = (addr: number) => {
        if (addr === old.addr) seen.push(session.loaded().find((f) => f.key === old.key)?.addr);
        return free(addr);
      };
      const fresh = await session.load(file, 'swap');
      assert.notEqual(fresh.addr, old.addr);
      assert.deepEqual(seen, [fresh.addr], 'the new version is listed when the old one is freed');
      assert.equal((await session.call(fresh.key, [])).returnValue, 2);
    } finally {
      client.free = free;
      await session.freeAll();
    }
  });

  test('a cached object cut short is rebuilt, and the run returns the right result', async () => {
    const root = scratch('cache-cut');
    const file = write('cut.c', 'int cut(int x) { return x + 1000; }\n');
    const session = new JitSession(client, defaultSettings({ buildRoot: root }));
    try {
      const built = await session.build(file, 'cut');
      truncateSync(built.objects[0], 64);
      assert.equal((await session.run(file, 'cut', ['1'])).returnValue, 1001);
    } finally {
      await session.freeAll();
    }
  });
});

describe('CLI: what decides a build', () => {
  const cache = () => scratch('cache-home');
  const run = (home: string, args: string[], extra: string[] = []) => cli(['run', ...args, '--port', emuA.port, '--json', ...extra], home);

  test('a header is part of the build: changing k.h changes the result; touching the source does not rebuild', async () => {
    const home = cache();
    write('hdr/k.h', '#define K 10\n');
    const file = write('hdr/usek.c', '#include "k.h"\nint usek(void) { return K; }\n');
    const first = await run(home, [file, 'usek']);
    assert.equal(first.exitCode, 0, first.stderr);
    assert.equal(json(first).return, 10);
    write('hdr/k.h', '#define K 99\n');
    const second = await run(home, [file, 'usek']);
    assert.equal(json(second).return, 99);
  });

  test('-D flags decide the signature: inc(T *a) with --flag=-DT=double works on doubles', async () => {
    const home = cache();
    const file = write('inc.c', '#ifndef T\n#define T int\n#endif\nvoid inc(T *a, int n) { for (int i = 0; i < n; i++) a[i] += 1; }\n');
    const asDouble = await run(home, [file, 'inc', '[1.5, 2, 3]', '3'], ['--flag=-DT=double']);
    assert.equal(asDouble.exitCode, 0, asDouble.stderr);
    assert.deepEqual(json(asDouble).arrays.a, [2.5, 3, 4]);
    const asInt = await run(home, [file, 'inc', '[1, 2, 3]', '3']);
    assert.deepEqual(json(asInt).arrays.a, [2, 3, 4]);
    const refused = await run(home, [file, 'inc', '[1.5]', '1']);
    assert.equal(refused.exitCode, 2, 'without the flag the parameter is int *: 1.5 is refused');
  });

  test('a signature an #ifdef decides comes out as the -D flag decides it', async () => {
    const home = cache();
    const file = write('wide.c', '#ifdef WIDE\nlong long twice(long long x) { return x * 2; }\n#else\nint twice(int x) { return x * 2; }\n#endif\n');
    const wide = await run(home, [file, 'twice', String(2 ** 40)], ['--flag=-DWIDE']);
    assert.equal(wide.exitCode, 0, wide.stderr);
    assert.equal(json(wide).return, String(2 ** 41));
    const narrow = await run(home, [file, 'twice', '21']);
    assert.equal(narrow.exitCode, 0, narrow.stderr);
    assert.equal(json(narrow).return, 42);
  });

  test('a function made by a macro is found', async () => {
    const file = write('def.c', '#define DEF(n) int n(int x) { return x * 3; }\nDEF(triple)\n');
    const r = await run(cache(), [file, 'triple', '14']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(json(r).return, 42);
  });

  test('a wrapper that does not type-check is a compile error, never a silent run', async () => {
    const file = write('mismatch.c', 'void inc(double *a, int n) { for (int i = 0; i < n; i++) a[i] += 1; }\n');
    // the signature as a parse blind to the build's flags would read it
    const blind = await findFunction('void inc(int *a, int n) { }\n', 'inc', file);
    const dir = scratch('cache-mismatch');
    const wrapper = join(dir, 'p4jit_entry.c');
    writeFileSync(wrapper, generateWrapper(blind, { sourcePath: file, includeSource: true }).code);
    const r = await runCompiler(['-march=rv32imafc_zicsr_zifencei', '-mabi=ilp32f', ...toolchain.libcFlags, '-c', wrapper, '-o', join(dir, 'w.o')], { toolchain });
    assert.equal(r.ok, false);
    assert.match(r.text, /error: passing argument 1 of 'inc' from incompatible pointer type/);
  });

  test('a path with a backslash is used as it is', async () => {
    const file = write('p/back\\slash/plain.c', 'int plain(int x) { return x + 7; }\n');
    const r = await run(cache(), [file, 'plain', '35']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(json(r).return, 42);
    const rel = await cli(['run', 'p/back\\slash/plain.c', 'plain', '1', '--port', emuA.port, '--json'], cache(), src);
    assert.equal(rel.exitCode, 0, rel.stderr);
  });

  test('--port to an emulator running this package\'s image: a loop GCC turns into memset links against it', async () => {
    const file = write('zero.c', 'void zero(int *a, int n) { for (int i = 0; i < n; i++) a[i] = 0; }\n');
    const r = await run(cache(), [file, 'zero', JSON.stringify(Array.from({ length: 64 }, (_, i) => i + 1)), '64']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(json(r).arrays.a, Array(64).fill(0));
  });

  test('without a firmware ELF (a board), the undefined memset names the setting and the flag to give', async () => {
    const file = write('zero2.c', 'void zero2(int *a, int n) { for (int i = 0; i < n; i++) a[i] = 0; }\n');
    const built = await buildFunction({ file, name: 'zero2', buildRoot: scratch('cache-nofw'), build: { toolchain, optimization: '-O2', extraFlags: [] } });
    await assert.rejects(linkAt(built.objects, 0x40000000, 'zero2', { toolchain, buildDir: built.buildDir }), (e: unknown) =>
      e instanceof CompileError && /undefined reference to `memset'/.test(e.message) && /p4jit\.firmwareElf/.test(e.message) && /--firmware-elf/.test(e.message));
  });
});

describe('CLI: concurrent runs', () => {
  test('pairs of parallel runs of one file on two emulators, the source changed before each pair', async () => {
    const home = scratch('cache-pairs');
    const file = write('pair.c', '');
    for (let pair = 0; pair < 6; pair++) {
      writeFileSync(file, `int pair(int x) { return x * ${pair + 2}; }\n`);
      const rs = await Promise.all([emuA, emuB].map((emu) => cli(['run', file, 'pair', '7', '--port', emu.port, '--json'], home)));
      for (const r of rs) {
        assert.equal(r.exitCode, 0, `pair ${pair}: ${r.stderr}`);
        assert.equal(json(r).return, 7 * (pair + 2));
      }
    }
  });
});

describe('CLI: p4jit cache', () => {
  test('shows where the cache is and what it holds; clean empties it', async () => {
    const home = scratch('cache-clean');
    const file = write('kept.c', 'int kept(int x) { return x; }\n');
    assert.equal((await cli(['run', file, 'kept', '1', '--port', emuA.port], home)).exitCode, 0);
    const shown = await cli(['cache', '--json'], home);
    assert.equal(shown.exitCode, 0, shown.stderr);
    const info = JSON.parse(shown.stdout) as { root: string; builds: number; bytes: number };
    assert.equal(info.root, join(home, 'p4jit', 'build'));
    assert.equal(info.builds, 1);
    assert.ok(info.bytes > 0);
    const cleaned = await cli(['cache', 'clean'], home);
    assert.match(cleaned.stdout, /^removed 1 builds \(\d+\.\d MB\) from /);
    assert.equal(JSON.parse((await cli(['cache', '--json'], home)).stdout).builds, 0);
    assert.equal((await cli(['cache', 'wipe'], home)).exitCode, 2);
  });
});

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

describe('a second local user', { skip: !asRoot && 'runs the second user as nobody: needs the tests to run as root' }, () => {
  /** Runs a Node script as the user nobody; resolves with what it printed. */
  const asNobody = async (script: string) => {
    const r = await execa(process.execPath, ['-e', script], { uid: NOBODY, gid: NOBODY, reject: false, cwd: '/' });
    assert.equal(r.exitCode, 0, r.stderr);
    return r.stdout;
  };

  test('a cache folder another user made (or can write to) is refused with the reason', async () => {
    const base = scratch('cache-shared');
    chmodSync(base, 0o1777); // like /tmp
    // the old layout: the first user to build creates the folder, mode 777, and the other uses it
    await asNobody(`require('fs').mkdirSync(${JSON.stringify(join(base, 'p4jit', 'build'))}, { recursive: true, mode: 0o777 }); ` +
      `require('fs').chmodSync(${JSON.stringify(join(base, 'p4jit'))}, 0o777); require('fs').chmodSync(${JSON.stringify(join(base, 'p4jit', 'build'))}, 0o777)`);
    const file = write('add.c', 'int add(int a, int b) { return a + b; }\n');
    const r = await cli(['run', file, 'add', '2', '3', '--port', emuA.port], base);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /the build cache .* belongs to user 65534, not to you \(0\)/);
  });

  test('the other user can neither replace a build, nor its manifest, nor plant a link in it: the next run is still ours', async () => {
    const home = scratch('cache-mine');
    chmodSync(home, 0o755);
    const file = write('add2.c', 'int add2(int a, int b) { return a + b; }\n');
    const first = await cli(['run', file, 'add2', '2', '3', '--port', emuA.port, '--json'], home);
    assert.equal(json(first).return, 5);
    const root = join(home, 'p4jit', 'build');
    const entry = readdirSync(root).find((d) => d.startsWith('add2-'))!;
    // what the attacker did: rename the entry, put their own with a manifest pointing at
    // their object, replace a linker script by a link to a root-only file
    const attempts = await asNobody(`
      const fs = require('fs'), path = require('path');
      const root = ${JSON.stringify(root)}, entry = path.join(root, ${JSON.stringify(entry)});
      const tries = {
        list: () => fs.readdirSync(root),
        rename: () => fs.renameSync(entry, entry + '.old'),
        manifest: () => fs.writeFileSync(path.join(entry, 'manifest.json'), '{"objects":["/tmp/evil.o"]}'),
        newEntry: () => fs.mkdirSync(path.join(root, 'add2-0000')),
        link: () => fs.symlinkSync('/etc/shadow', path.join(entry, 'add2.sizing.ld')),
      };
      const out = {};
      for (const [k, f] of Object.entries(tries)) { try { f(); out[k] = 'done'; } catch (e) { out[k] = e.code; } }
      console.log(JSON.stringify(out));`);
    assert.deepEqual(JSON.parse(attempts), { list: 'EACCES', rename: 'EACCES', manifest: 'EACCES', newEntry: 'EACCES', link: 'EACCES' });
    const again = await cli(['run', file, 'add2', '2', '3', '--port', emuA.port, '--json'], home);
    assert.equal(json(again).return, 5);
  });
});
