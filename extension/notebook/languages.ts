/** The cell languages a P4-JIT notebook runs (kept apart from the kernel, which loads parsers). */

/** Compiled and loaded onto the device. */
export const NATIVE_LANGUAGES: ReadonlySet<string> = new Set(['c', 'cpp']);
/** Assembled as RISC-V assembly: P4-JIT's own id, and the ids assembly extensions use. */
export const ASSEMBLY_LANGUAGES: ReadonlySet<string> = new Set(['riscv-asm', 'asm', 'riscv', 'gas']);
/** Run on the host, driving the device. */
export const SCRIPT_LANGUAGES: ReadonlySet<string> = new Set(['javascript', 'typescript']);

export const CELL_LANGUAGES: readonly string[] = [...NATIVE_LANGUAGES, ...ASSEMBLY_LANGUAGES, ...SCRIPT_LANGUAGES];
