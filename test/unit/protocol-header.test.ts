/**
 * The TypeScript host's protocol tables against the firmware's C header (jit_protocol.h) and core:
 * command ids, error codes, INFO capability bits, MALLOC_CAP bits, frame magic and the argument
 * limit. A change on one side without the other fails here, not on the wire.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { Cmd, DeviceCap, Err, MAGIC0, MAGIC1, MallocCap } from '../../extension/protocol/constants.js';
import { MAX_ARG_SLOTS } from '../../toolchain/signature.js';
import { repoRoot } from '../helpers/paths.js';

const core = join(repoRoot, 'firmware', 'components', 'p4_jit', 'core');
const header = readFileSync(join(core, 'jit_protocol.h'), 'utf8');

/** NAME → value of every `#define PREFIX<NAME> <value>u` and enum `PREFIX<NAME> = <value>` in `text`. */
function definitions(text: string, prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = new RegExp(`(?:#define\\s+${prefix}(\\w+)\\s+\\(?(0x[0-9a-fA-F]+|\\d+)u?(?:\\s*<<\\s*(\\d+))?\\)?|\\b${prefix}(\\w+)\\s*=\\s*(0x[0-9a-fA-F]+|\\d+))`, 'g');
  for (const m of text.matchAll(re)) {
    if (m[1]) out.set(m[1], Number(m[2]) * 2 ** Number(m[3] ?? 0));
    else out.set(m[4], Number(m[5]));
  }
  return out;
}

/** WRITE_MEM → WriteMem, ICOUNT → Icount (compared case-insensitively). */
const camel = (name: string) => name.toLowerCase().replace(/(^|_)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
const byLowerName = (table: Record<string, number>) => new Map(Object.entries(table).map(([k, v]) => [k.toLowerCase(), v]));

test('command ids: the same names and values on both sides', () => {
  const c = definitions(header, 'JIT_CMD_');
  assert.ok(c.size >= 17, `found ${c.size} commands in the header`);
  assert.deepEqual(byLowerName(Cmd), new Map([...c].map(([k, v]) => [camel(k).toLowerCase(), v])));
});

test('error codes: the same names and values', () => {
  const e = definitions(header, 'JIT_ERR_');
  assert.deepEqual(new Map(Object.entries(Err)), e);
});

test('INFO capability bits and MALLOC_CAP bits', () => {
  const all = definitions(header, 'JIT_CAP_');
  const malloc = new Map([...all].filter(([k]) => k.startsWith('MALLOC_')).map(([k, v]) => [k.slice('MALLOC_'.length), v]));
  const device = new Map([...all].filter(([k]) => !k.startsWith('MALLOC_')).map(([k, v]) => [camel(k).toLowerCase(), v]));
  assert.deepEqual(new Map(Object.entries(MallocCap)), malloc);
  assert.deepEqual(byLowerName(DeviceCap), device);
});

test('frame magic and the argument slots a CALL takes', () => {
  const magic = definitions(header, 'JIT_MAGIC');
  assert.deepEqual([magic.get('0'), magic.get('1')], [MAGIC0, MAGIC1]);
  const commands = readFileSync(join(core, 'jit_commands.c'), 'utf8');
  assert.equal(definitions(commands, 'JIT_').get('MAX_ARGS'), MAX_ARG_SLOTS);
});
