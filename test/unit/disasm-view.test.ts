// The disassembly a user reads (toolchain/disasm-view.ts), from objdump -d -l text as binutils 2.40 prints it.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { disassemblyView } from '../../toolchain/disasm-view.js';

const OBJDUMP = `
/b/fir-1/fir.elf:     file format elf32-littleriscv


Disassembly of section .text:

82000020 <__p4jit_entry>:
__p4jit_entry():
/home/u/.config/Code/User/workspaceStorage/ab/p4jit/build/fir-1/p4jit_entry.c:15
82000020:\tadd\tsp,sp,-16
82000022:\tjalr\ta5
82000024:\tret

82000026 <fir>:
fir():
/w/proj/src/dsp.c:14
82000026:\tmv\tt3,a0
/w/proj/src/dsp.c:18 (discriminator 4)
8200002a:\tfmadd.s\tfa5,fa3,fa4,fa5
8200002e:\tbne\ta3,a5,82000026 <fir>
82000032:\tret

82000034 <__mulsf3>:
82000034:\tret
`;

const SOURCE: Record<number, string> = { 14: '{', 18: '            acc += h[k] * x[i - k];' };

test('the user\'s function first with its source lines by relative path; wrapper and library code last, in a region', () => {
  const view = disassemblyView(OBJDUMP, {
    relativeTo: '/w/proj', function: 'fir', address: 0x82000020,
    sourceLine: (path, line) => (path === '/w/proj/src/dsp.c' ? SOURCE[line] : undefined),
  });
  const lines = view.split('\n');
  assert.deepEqual(lines.slice(0, 9), [
    '# fir loaded at 0x82000020: RISC-V machine code with its source lines (read-only)',
    '',
    'fir:                           # 0x82000026',
    '# src/dsp.c:14  {',
    '    82000026:  mv t3,a0',
    '# src/dsp.c:18              acc += h[k] * x[i - k];',
    '    8200002a:  fmadd.s fa5,fa3,fa4,fa5',
    '    8200002e:  bne a3,a5,82000026 <fir>',
    '    82000032:  ret',
  ]);
  const region = lines.findIndex((l) => l.startsWith('# region'));
  assert.ok(region > 8);
  assert.ok(lines.indexOf('__p4jit_entry:                 # 0x82000020') > region);
  assert.ok(lines.findIndex((l) => l.startsWith('__mulsf3:')) > region, 'library code without source goes with the generated code');
  assert.ok(lines.includes('# p4jit_entry.c:15'), 'the wrapper by its name, not its build path');
  assert.doesNotMatch(view, /workspaceStorage|\/w\/proj|file format|Disassembly of section/);
  assert.equal(lines.filter((l) => l === '# endregion').length, 1);
});
