/** The CLI's own parsing: numbers, caps, write data, negative arguments, command arity, run checks. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { deviceCommand, parseCaps, parseNumber, parseWriteData, protectNegativeNumbers, UsageError, type CliValues } from '../../extension/cli/main.js';
import { checkCall } from '../../extension/cli/run.js';
import { MallocCap } from '../../extension/protocol/constants.js';
import { repoRoot } from '../helpers/paths.js';

const isUsage = (pattern: RegExp) => (e: unknown) => e instanceof UsageError && pattern.test(e.message);

describe('parseNumber', () => {
  test('decimal and hex, either case, surrounding spaces', () => {
    assert.equal(parseNumber('0', 'n'), 0);
    assert.equal(parseNumber('4096', 'n'), 4096);
    assert.equal(parseNumber('0x80000000', 'n'), 2 ** 31);
    assert.equal(parseNumber('0XFFFFFFFF', 'n'), 2 ** 32 - 1);
    assert.equal(parseNumber(' 0x1f ', 'n'), 31);
  });

  test('rejects what is not a 32-bit unsigned number, naming the field', () => {
    for (const bad of ['', '-1', '12abc', '0x', '1e3', '1.5', '0x100000000', '4294967296', 'ten']) {
      assert.throws(() => parseNumber(bad, 'size'), isUsage(/^size: ".*" is not a number from 0 to 0xffffffff$/), bad);
    }
  });
});

describe('parseCaps', () => {
  test('names joined by , | or +, any case, with or without MALLOC_CAP_', () => {
    assert.equal(parseCaps('SPIRAM'), MallocCap.SPIRAM);
    assert.equal(parseCaps('exec,spiram,8bit'), MallocCap.EXEC | MallocCap.SPIRAM | MallocCap['8BIT']);
    assert.equal(parseCaps('MALLOC_CAP_INTERNAL|MALLOC_CAP_32BIT'), MallocCap.INTERNAL | MallocCap['32BIT']);
    assert.equal(parseCaps(' DMA + DEFAULT '), MallocCap.DMA | MallocCap.DEFAULT);
  });

  test('an unknown name is refused with the list of known ones', () => {
    assert.throws(() => parseCaps('SPIRAM,PSRAM'), isUsage(/unknown caps name "PSRAM" \(known: EXEC, 32BIT, 8BIT, DMA, SPIRAM, INTERNAL, DEFAULT\)/));
  });
});

describe('parseWriteData', () => {
  test('hex bytes, spaces allowed', () => {
    assert.deepEqual(parseWriteData('13 05 b0 ff'), Buffer.from([0x13, 0x05, 0xb0, 0xff]));
    assert.deepEqual(parseWriteData('DEADbeef'), Buffer.from([0xde, 0xad, 0xbe, 0xef]));
  });

  test('@FILE reads the file; a missing one is a usage error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'p4jit-cli-args-'));
    const file = join(dir, 'data.bin');
    writeFileSync(file, Buffer.from([1, 2, 3]));
    try {
      assert.deepEqual(parseWriteData(`@${file}`), Buffer.from([1, 2, 3]));
      assert.throws(() => parseWriteData(`@${file}.missing`), isUsage(/write: cannot read .*ENOENT/));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('odd digit counts and non-hex are refused', () => {
    for (const bad of ['abc', '0g', '', '0x12']) assert.throws(() => parseWriteData(bad), isUsage(/must be hex bytes/), bad);
  });
});

describe('protectNegativeNumbers', () => {
  test('negative numbers are kept from being read as options; options are untouched', () => {
    const out = protectNegativeNumbers(['run', 'f.c', 'g', '-3', '-0.5', '-.5', '-1e3', '-0x10', '-inf', '-O2', '--json', '-h']);
    assert.deepEqual(out.map((a) => a.startsWith('-')), [false, false, false, false, false, false, false, false, false, true, true, true]);
    assert.deepEqual(out.slice(3, 9).map((a) => a.replace(/^\0/, '')), ['-3', '-0.5', '-.5', '-1e3', '-0x10', '-inf']);
  });

  test('after -- nothing changes', () => {
    assert.deepEqual(protectNegativeNumbers(['run', '--', '-3']), ['run', '--', '-3']);
  });
});

describe('deviceCommand checks before any device is opened', () => {
  const v = {} as CliValues;
  test('the right argument counts give an action', () => {
    for (const [cmd, pos] of [['ping', []], ['info', []], ['heap', []], ['allocs', []], ['alloc', ['64']], ['free', ['0x80000000']],
      ['read', ['0x80000000', '16']], ['write', ['0x80000000', 'ff']], ['exec', ['0x80000000']]] as Array<[string, string[]]>) {
      assert.equal(typeof deviceCommand(cmd, pos, v), 'function', cmd);
    }
  });

  test('wrong counts, bad numbers, bad caps and unknown commands are usage errors', () => {
    assert.throws(() => deviceCommand('read', ['0x10'], v), isUsage(/^read takes 2 arguments, got 1\n/));
    assert.throws(() => deviceCommand('ping', ['extra'], v), isUsage(/^ping takes 0 arguments, got 1/));
    assert.throws(() => deviceCommand('free', ['nowhere'], v), isUsage(/^address: "nowhere"/));
    assert.throws(() => deviceCommand('alloc', ['64'], { caps: 'FAST' } as CliValues), isUsage(/unknown caps name "FAST"/));
    assert.throws(() => deviceCommand('alloc', ['64'], { align: '-8' } as CliValues), isUsage(/^align: "-8"/));
    assert.throws(() => deviceCommand('flash', [], v), isUsage(/^unknown command "flash"/));
  });
});

describe('checkCall: what run can refuse without a device', () => {
  const ints = join(repoRoot, 'test', 'fixtures', 'corpus', 'ints.c');
  test('good arguments pass', async () => {
    await checkCall(ints, 'difference', ['-5', '0x10']);
    await checkCall(ints, 'widen_i8', ['-128', 'false']);
  });

  test('a missing file, a missing function and bad arguments are usage errors', async () => {
    await assert.rejects(checkCall(join(repoRoot, 'no-such-file.c'), 'f', []), isUsage(/^no such file: /));
    await assert.rejects(checkCall(repoRoot, 'f', []), isUsage(/^no such file: /));
    await assert.rejects(checkCall(ints, 'diference', ['1', '2']), isUsage(/no definition of function 'diference'\. Did you mean 'difference'\?/));
    await assert.rejects(checkCall(ints, 'difference', ['1']), isUsage(/expects 2 arguments \(a, b\), got 1/));
    await assert.rejects(checkCall(ints, 'widen_i8', ['128', 'true']), isUsage(/128 is out of range for int8_t/));
    await assert.rejects(checkCall(ints, 'widen_i8', ['1', 'maybe']), isUsage(/'maybe' is not a bool/));
    await assert.rejects(checkCall(ints, 'scale_copy', ['[1, 2', '[0]', '1', '1']), isUsage(/is not a list/));
    const asm = join(repoRoot, 'test', 'fixtures', 'corpus', 'asm', 'mac.S');
    await assert.rejects(checkCall(asm, 'asm_mac', ['1', '2', '3']), isUsage(/^mac\.S is assembly, and signatures are read from C/));
  });
});
