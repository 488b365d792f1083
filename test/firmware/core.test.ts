/**
 * The portable protocol core built for the PC (firmware/test/): its C unit tests, plain and under
 * AddressSanitizer + UBSan, and a bounded libFuzzer run from the seed corpus. The long fuzz run
 * is separate (make -C firmware/test fuzz-smoke FUZZ_SECONDS=...).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { execa } from 'execa';

import { repoRoot } from '../helpers/paths.js';

const hostDir = join(repoRoot, 'firmware', 'test');
const fuzzSeconds = Number(process.env.P4JIT_HOST_FUZZ_SECONDS ?? 20);

const tail = (text: string, lines = 40) => text.split('\n').slice(-lines).join('\n');

test('unit tests of the protocol core pass, plain and sanitized', { timeout: 10 * 60_000 }, async () => {
  const r = await execa('make', ['-C', hostDir, 'test'], { reject: false, all: true });
  assert.equal(r.exitCode, 0, tail(r.all));
  // one summary line per build: "N passed, M failed"
  const summaries = [...r.all.matchAll(/^(\d+) passed, (\d+) failed$/gm)];
  assert.equal(summaries.length, 2, tail(r.all));
  for (const [, passed, failed] of summaries) {
    assert.ok(Number(passed) > 0, 'no test ran');
    assert.equal(Number(failed), 0);
  }
  assert.equal(summaries[0][1], summaries[1][1], 'both builds run the same tests');
});

test('the fuzzer runs clean from the seed corpus', { timeout: (fuzzSeconds + 10 * 60) * 1000 }, async () => {
  const r = await execa('make', ['-C', hostDir, 'fuzz-smoke', `FUZZ_SECONDS=${fuzzSeconds}`], {
    reject: false,
    all: true,
    maxBuffer: 64 << 20,
  });
  assert.equal(r.exitCode, 0, tail(r.all));
  assert.match(r.all, /gen_corpus: \d+ seeds/);
  const runs = /stat::number_of_executed_units:\s+(\d+)/.exec(r.all);
  assert.ok(runs, tail(r.all));
  assert.ok(Number(runs[1]) > 0, 'libFuzzer executed nothing');
});
