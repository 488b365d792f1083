/**
 * The p4jit command line end to end: `node bin/p4jit.js` against one emulated ESP32-P4 started here
 * (its pty passed with --port), `p4jit emulator` itself, and the usage errors, which must be
 * reported before any device is opened.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { execa } from 'execa';

import { ensureFirmwareImage } from '../../extension/emulator/image.js';
import { Emulator } from '../../extension/emulator/launcher.js';
import { MallocCap } from '../../extension/protocol/constants.js';
import { repoRoot, scratchDir } from '../helpers/paths.js';
import { qemusUnder } from '../helpers/processes.js';

/** Scratch folders of this file, removed at the end. */
const scratchDirs: string[] = [];
const scratch = (tag: string) => {
  const dir = scratchDir(tag);
  scratchDirs.push(dir);
  return dir;
};

const BIN = join(repoRoot, 'bin', 'p4jit.js');
const corpus = (rel: string) => join(repoRoot, 'test', 'fixtures', 'corpus', rel);
const p4jit = (args: string[]) => execa(process.execPath, [BIN, ...args], { reject: false, cwd: repoRoot });
/** A port no device can be behind: a command that opens it fails with a different message. */
const NO_PORT = '/nonexistent/p4jit-test-port';

let emu: Emulator;
let image: string;
const onEmu = (args: string[]) => p4jit([...args, '--port', emu.port]);
const run = (file: string, fn: string, args: string[], extra: string[] = []) =>
  onEmu(['run', corpus(file), fn, ...args, '--firmware-elf', image, ...extra]);

before(async () => {
  // a private copy, immune to a rebuild of the shared image while this file runs
  image = join(scratch('cli-fw'), 'p4jit-emu.elf');
  copyFileSync(await ensureFirmwareImage(), image);
  emu = await Emulator.start({ image });
});

after(async () => {
  await emu?.stop();
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
});

describe('p4jit run', () => {
  test('ints, human-readable: a negative result with its hex form', async () => {
    const r = await run('ints.c', 'difference', ['-5', '7']);
    assert.equal(r.exitCode, 0, r.stderr);
    const ret = -5 - 7;
    assert.match(r.stdout, new RegExp(`returned ${ret} \\(0x${(ret >>> 0).toString(16)}\\)`));
    assert.match(r.stdout, /^ {2}ran {6}[\d,]+ instructions$/m, 'the emulator counts instructions by default');
    assert.doesNotMatch(r.stdout, /cycles/);
    assert.equal(r.stderr, '');
  });

  test('identical calls report identical instruction counts; --no-icount reports wall time, never cycles', async () => {
    const counts = [];
    for (let i = 0; i < 3; i++) {
      const r = await run('dsp.c', 'fir', ['[1,2,3,4,5,6,7,8]', '8', '[0.5,0.25,0.125]', '3', '[0]*8'], ['--json']);
      assert.equal(r.exitCode, 0, r.stderr);
      const j = JSON.parse(r.stdout);
      assert.equal(j.cycles, null, 'instructions are not called cycles');
      assert.equal(j.timeUs, null, 'virtual time is not shown as time');
      counts.push(j.instructions);
    }
    assert.match(counts[0], /^\d+$/);
    assert.deepEqual(counts, [counts[0], counts[0], counts[0]]);

    const wall = await p4jit(['run', corpus('dsp.c'), 'fir', '[1,2,3,4,5,6,7,8]', '8', '[0.5,0.25,0.125]', '3', '[0]*8', '--emulator', '--no-icount']);
    assert.equal(wall.exitCode, 0, wall.stderr);
    assert.match(wall.stdout, /^ {2}ran {6}[\d.]+ (µs|ms) wall time$/m);
    assert.doesNotMatch(wall.stdout, /cycles|instructions/);
    const info = await p4jit(['info', '--emulator', '--no-icount']);
    assert.match(info.stdout, /^counts +the host's clock ticks at \d+ MHz \(shown as wall time/m);
    assert.match(info.stdout, /^cache +none \(the emulator models no cache\)$/m);
    assert.match((await onEmu(['info'])).stdout, /^counts +instructions executed \(QEMU -icount/m);
  });

  test('float32 results print as float32: 0.049, not 0.04899999871850014', async () => {
    const r = await run('dsp.c', 'fir', ['[0.049, 0.5]', '2', '[1]', '1', '[0]*2']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^ {2}y = \[0\.049, 0\.5\]$/m);
    const j = await run('dsp.c', 'fir', ['[0.049, 0.5]', '2', '[1]', '1', '[0]*2'], ['--json']);
    assert.match(j.stdout, /"y":\[0\.049,0\.5\]/);
  });

  test('--json shape: return, instructions, output, arrays keyed by parameter name, fault and overrun null', async () => {
    // values whose products and sums are exact in float: the answer is the same fused or not
    const a = [0.5, 1.5, -2, 8];
    const b = [4, 0.25, 3, -0.125];
    const r = await run('dsp.c', 'dot_product', [JSON.stringify(a), JSON.stringify(b), String(a.length)], ['--json']);
    assert.equal(r.exitCode, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(j).sort(), ['arrays', 'cycles', 'fault', 'function', 'hostMs', 'instructions', 'kinds', 'output', 'overrun', 'return', 'timeUs']);
    assert.equal(j.kinds.return, 'f32', 'the C type of the return value comes with it');
    assert.equal(j.function, 'dot_product');
    assert.equal(Math.fround(j.return), a.reduce((s, x, i) => Math.fround(s + Math.fround(x * b[i])), 0));
    assert.match(j.instructions, /^\d+$/, 'instructions: a 64-bit count as decimal text');
    assert.equal(j.cycles, null);
    assert.equal(typeof j.hostMs, 'number');
    assert.equal(j.output, '');
    assert.deepEqual(j.arrays, {});
    assert.equal(j.fault, null);
    assert.equal(j.overrun, null);
  });

  test('arrays: the non-const output comes back by name, the const inputs do not', async () => {
    const x = [1, 2, 3, 4];
    const h = [0.5, 0.25];
    const r = await run('dsp.c', 'fir', [JSON.stringify(x), String(x.length), JSON.stringify(h), String(h.length), `[0]*${x.length}`], ['--json']);
    assert.equal(r.exitCode, 0, r.stderr);
    const y = x.map((_, i) => h.reduce((acc, hk, k) => (k <= i ? Math.fround(acc + Math.fround(hk * x[i - k])) : acc), 0));
    assert.deepEqual(JSON.parse(r.stdout).arrays.y.map(Math.fround), y, 'float32 text reads back to the same float32');
  });

  test('printf output is captured', async () => {
    const r = await run('printf/hello.c', 'say', ['3', '0.5'], ['--json']);
    assert.equal(r.exitCode, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.output, `n=3 f=${(0.5).toFixed(3)}\ndone\n`);
    assert.equal(j.return, 6);
  });

  test('--emulator: the CLI starts its own emulator and links against its image', async () => {
    const r = await p4jit(['run', corpus('printf/hello.c'), 'say', '-2', '1.5', '--emulator', '--json']);
    assert.equal(r.exitCode, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.output, `n=-2 f=${(1.5).toFixed(3)}\ndone\n`);
    assert.equal(j.return, -4);
  });

  test('a faulting function: non-zero exit, one line on stderr, the JSON fault with its source line', async () => {
    const lines = readFileSync(corpus('faults.c'), 'utf8').split('\n');
    const faultLine = lines.findIndex((l) => l.includes('FAULT-LINE')) + 1;
    const r = await run('faults.c', 'store_through', ['null', '1'], ['--json']);
    assert.notEqual(r.exitCode, 0);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^p4jit: store access fault .* in faults\\.c:${faultLine}$`, 'm'));
    const j = JSON.parse(r.stdout);
    assert.equal(j.return, null);
    assert.equal(j.fault.kind, 'fault');
    assert.equal(j.fault.cause, 7);
    assert.equal(j.fault.line, faultLine);
    assert.ok(j.fault.file.endsWith('faults.c'));
  });

  test('a call the device refuses (time limit above its maximum): exit 1, and the loaded code is freed', async () => {
    const info = JSON.parse((await onEmu(['info', '--json'])).stdout);
    const r = await run('ints.c', 'difference', ['1', '2'], ['--time-limit', String(info.maxCallMs + 1)]);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /^p4jit: CALL: .*BAD_ARGUMENT/);
    assert.deepEqual(JSON.parse((await onEmu(['allocs', '--json'])).stdout), []);
  });

  test('nothing the runs loaded stays on the device', async () => {
    const r = await onEmu(['allocs', '--json']);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });
});

/** RISC-V `addi rd, rs1, imm` (I-type). */
const addi = (rd: number, rs1: number, imm: number) => (((imm & 0xfff) << 20) | (rs1 << 15) | (rd << 7) | 0x13) >>> 0;
/** `ret` = `jalr x0, 0(x1)`. */
const RET = ((1 << 15) | 0x67) >>> 0;

describe('device commands', () => {
  test('ping, info, heap, allocs, alloc, write, read, exec, free', async () => {
    const json = async (args: string[]) => {
      const r = await onEmu([...args, '--json']);
      assert.equal(r.exitCode, 0, `${args.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    };
    assert.equal((await json(['ping'])).ok, true);
    const info = await json(['info']);
    assert.equal(info.board, 'qemu-virt');
    assert.ok(info.maxPayload > 0);
    assert.equal(info.sealed, true, 'frames are sealed with CRC-32 on a device that offers it');
    assert.match((await onEmu(['info'])).stdout, /^link +SEALED frames \(CRC-32/m);
    const heap = await json(['heap']);
    assert.ok(heap.freeSpiram > 0 && heap.freeSpiram <= heap.totalSpiram);
    assert.deepEqual(await json(['allocs']), []);

    const alloc = await onEmu(['alloc', '64', '--caps', 'EXEC,SPIRAM,8BIT', '--align', '16']);
    assert.equal(alloc.exitCode, 0, alloc.stderr);
    assert.match(alloc.stdout, /^0x[0-9a-f]{8}$/m);
    const addr = parseInt(alloc.stdout.trim(), 16);
    assert.equal(addr % 16, 0);
    const [entry] = await json(['allocs']);
    assert.equal(entry.addr, addr);
    assert.ok(entry.size >= 64);
    assert.ok(entry.caps & MallocCap.EXEC);

    // li a0, -1234 ; ret
    const value = -1234;
    const code = Buffer.alloc(8);
    code.writeUInt32LE(addi(10, 0, value), 0);
    code.writeUInt32LE(RET, 4);
    const hexAddr = `0x${addr.toString(16)}`;
    const write = await onEmu(['write', hexAddr, code.toString('hex').replace(/(..)(?!$)/g, '$1 ')]);
    assert.equal(write.exitCode, 0, write.stderr);
    assert.match(write.stdout, /wrote 8 bytes/);
    assert.equal((await json(['read', hexAddr, '8'])).hex, code.toString('hex'));
    const exec = await onEmu(['exec', hexAddr]);
    assert.equal(exec.exitCode, 0, exec.stderr);
    assert.equal(exec.stdout.trim(), String(value));

    // the same through files: write @FILE, read --out FILE
    const dir = scratch('cli-files');
    const other = Buffer.alloc(8);
    other.writeUInt32LE(addi(10, 0, 77), 0);
    other.writeUInt32LE(RET, 4);
    writeFileSync(join(dir, 'code.bin'), other);
    assert.equal((await json(['write', hexAddr, `@${join(dir, 'code.bin')}`])).written, 8);
    assert.equal((await onEmu(['read', hexAddr, '8', '--out', join(dir, 'back.bin')])).exitCode, 0);
    assert.deepEqual(readFileSync(join(dir, 'back.bin')), other);
    assert.equal((await json(['exec', hexAddr])).return, 77);

    const free = await onEmu(['free', hexAddr]);
    assert.equal(free.exitCode, 0, free.stderr);
    assert.match(free.stdout, /freed 0x/);
    assert.deepEqual(await json(['allocs']), []);
    assert.deepEqual(await json(['heap']), heap);
  });

  test('a device error is one line and exit 1: freeing what is not allocated', async () => {
    const r = await onEmu(['free', '0x80000000']);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /^p4jit: FREE: .*NOT_ALLOCATED/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
});

describe('p4jit emulator', () => {
  test('prints its port, answers there, and stops on SIGTERM leaving no QEMU behind', async () => {
    const proc = execa(process.execPath, [BIN, 'emulator'], { reject: false, cwd: repoRoot });
    const port = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /on (\/dev\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      proc.once('exit', () => reject(new Error(`p4jit emulator exited early: ${out}`)));
    });
    const qemus = qemusUnder(proc.pid!);
    assert.equal(qemus.length, 1, 'one QEMU under the CLI');

    const ping = await p4jit(['ping', '--port', port]);
    assert.equal(ping.exitCode, 0, ping.stderr);

    proc.kill('SIGTERM');
    const r = await proc;
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(existsSync(`/proc/${qemus[0]}`), false, 'QEMU is gone');
  });
  test('says so and exits 1 when its QEMU is killed', async () => {
    const proc = execa(process.execPath, [BIN, 'emulator'], { reject: false, cwd: repoRoot });
    await new Promise<void>((resolve, reject) => {
      proc.stdout!.on('data', (d: Buffer) => { if (/on \/dev\//.test(d.toString())) resolve(); });
      proc.once('exit', () => reject(new Error('p4jit emulator exited early')));
    });
    const [qemu] = qemusUnder(proc.pid!);
    process.kill(qemu, 'SIGKILL');
    const r = await proc;
    assert.equal(r.exitCode, 1, r.stderr);
    assert.match(r.stderr, /^p4jit: the emulated ESP32-P4 stopped: QEMU was killed \(SIGKILL\)/m); // after the line saying it runs unprotected
  });
});

describe('usage errors: a clear message, exit 2, no device opened', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['no command', [], /usage: p4jit/],
    ['an unknown command', ['frobnicate'], /unknown command "frobnicate"/],
    ['an unknown option', ['ping', '--bogus'], /Unknown option '--bogus'/],
    ['--port and --emulator together', ['ping', '--emulator'], /--port or --emulator, not both/],
    ['missing arguments of a device command', ['read', '0x80000000'], /read takes 2 arguments, got 1/],
    ['missing arguments of run', ['run', corpus('ints.c')], /run takes <file\.c> <function>/],
    ['a bad number', ['alloc', '12abc'], /size: "12abc" is not a number/],
    ['a negative address', ['free', '-4'], /address: "-4" is not a number from 0/],
    ['an unknown caps name', ['alloc', '64', '--caps', 'SPIRAM,FOO'], /unknown caps name "FOO" \(known: EXEC/],
    ['bad write data', ['write', '0x80000000', 'xyz'], /write: data must be hex bytes/],
    ['a wrong argument count for the function', ['run', corpus('ints.c'), 'difference', '1'], /expects 2 arguments \(a, b\), got 1/],
    ['an out-of-range int8 argument', ['run', corpus('ints.c'), 'widen_i8', '200', 'true'], /argument 'x': 200 is out of range for int8_t \(-128\.\.127\)/],
    ['a malformed JSON array', ['run', corpus('dsp.c'), 'dot_product', '[1, 2', '[3, 4]', '2'], /argument 'a': .*is not a list/],
    ['a file that does not exist', ['run', '/nonexistent/missing.c', 'f'], /no such file: \/nonexistent\/missing\.c/],
    ['a function that does not exist', ['run', corpus('ints.c'), 'no_such_function'], /no definition of function 'no_such_function'/],
    ['an assembly file as the run target', ['run', corpus('asm/mac.S'), 'asm_mac', '1', '2', '3'], /mac\.S is assembly/],
    ['a bad --time-limit', ['run', corpus('ints.c'), 'difference', '1', '2', '--time-limit', 'soon'], /--time-limit: "soon"/],
  ];
  for (const [title, args, message] of cases) {
    test(title, async () => {
      const r = await p4jit([...args, '--port', NO_PORT]);
      assert.equal(r.exitCode, 2, `exit ${r.exitCode}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /nonexistent\/p4jit-test-port/, 'no device was opened');
      if (args.length) assert.match(r.stderr, /^p4jit: /);
    });
  }
});
