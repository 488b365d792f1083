/**
 * An assembly source checked on its own: assembled (a .S through the C preprocessor first, as GCC
 * does) into a scratch object, so its errors are reported where it was written, before any C function that
 * calls it is linked; answers the functions it makes visible to other objects.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { compileObject, type BuildOptions } from './build.js';
import { readElf } from './elf.js';

export interface AssembledSymbol {
  name: string;
  /** Bytes, as its .size directive says (0 when it has none). */
  size: number;
}

/** The global symbols `file` defines; a CompileError carries the assembler's messages. */
export async function assembleFile(file: string, opts: Omit<BuildOptions, 'buildDir'> & { scratchRoot: string }): Promise<AssembledSymbol[]> {
  const buildDir = mkdtempSync(join(opts.scratchRoot, 'asm-'));
  try {
    const obj = await compileObject(file, { ...opts, buildDir }, 'unit.o');
    return readElf(obj).symbols
      .filter((s) => s.global && s.section !== 0)
      .map((s) => ({ name: s.name, size: s.size }));
  } finally {
    rmSync(buildDir, { recursive: true, force: true });
  }
}
