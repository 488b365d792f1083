// Source hashes kept while a file's stat holds: never stale, and not re-read on every call.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileDigests, racyWindowMs } from '../../extension/session/file-digests.js';

const dir = mkdtempSync(join(tmpdir(), 'p4jit-digests-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A FileDigests over the real file system that counts its reads. */
function counting(): { digests: FileDigests; reads: () => number } {
  let reads = 0;
  const digests = new FileDigests((path) => {
    reads++;
    return readFileSync(path);
  });
  return { digests, reads: () => reads };
}

test('whole-second timestamps get git\'s 2 s racy window; finer ones a few clock ticks', () => {
  assert.equal(racyWindowMs(1_765_000_000_000), 2000);
  assert.equal(racyWindowMs(1_765_000_000_123.456), 50);
});

test('a same-size edit right after a hash is seen, however fast it follows', () => {
  const { digests } = counting();
  const file = join(dir, 'fast.c');
  let last = '';
  for (let i = 0; i < 50; i++) {
    writeFileSync(file, `int f(void) { return ${i % 10}${i % 10}; }\n`); // same size every time
    const digest = digests.of(file);
    assert.notEqual(digest, last, `edit ${i} went unseen`);
    last = digest;
  }
});

test('an old file whose stat holds is read once; a change of its stat reads it again', () => {
  const { digests, reads } = counting();
  const file = join(dir, 'old.c');
  const old = Math.floor(Date.now() / 1000) - 10 + 0.5; // seconds: sub-second, long past its racy window
  writeFileSync(file, 'int g(void) { return 1; }\n');
  utimesSync(file, old, old);
  const first = digests.of(file);
  for (let i = 0; i < 5; i++) assert.equal(digests.of(file), first);
  assert.equal(reads(), 1, 'read once for six calls');

  writeFileSync(file, 'int g(void) { return 2; }\n'); // same size, mtime put back: the ctime still moves
  utimesSync(file, old, old);
  assert.notEqual(digests.of(file), first);
  assert.equal(reads(), 2);
});

test('a file with whole-second timestamps is read again until 2 s have passed', () => {
  const { digests, reads } = counting();
  const file = join(dir, 'coarse.c');
  writeFileSync(file, 'int h(void) { return 3; }\n');
  const second = Math.floor(Date.now() / 1000) - 1; // 1 to 2 s ago, on a whole second
  utimesSync(file, second, second);
  digests.of(file);
  digests.of(file);
  assert.equal(reads(), 2);
  assert.equal(digests.of(join(dir, 'missing.c')), '(unreadable)');
});
