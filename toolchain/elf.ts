/**
 * ELF reading for linked JIT functions and firmware images: sections through elfy, symbols decoded
 * from the .symtab/.strtab sections elfy exposes (elfy itself stops at section data).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ToolchainError } from './errors.js';

const require = createRequire(import.meta.url);
// elfy is CommonJS without types
const elfy = require('elfy') as { parse(buf: Buffer): ElfyFile };

interface ElfySection {
  name: string;
  type: string | number;
  flags: Record<string, boolean>;
  addr: number;
  off: number;
  size: number;
  addralign: number;
  data: Buffer;
}
interface ElfyFile {
  class: string;
  machine: string;
  entry: number;
  body: { sections: ElfySection[]; programs: unknown[] };
}

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  type: 'func' | 'object' | 'other';
  section: number;
  /** Bound globally (or weakly): other objects of a link can refer to it. */
  global: boolean;
}

export interface ElfSectionInfo {
  name: string;
  addr: number;
  size: number;
  /** sh_addralign (0 or 1: none). */
  align: number;
  alloc: boolean;
  nobits: boolean;
  data: Buffer;
}

export interface ElfFile {
  entry: number;
  sections: ElfSectionInfo[];
  symbols: ElfSymbol[];
}

export function readElf(pathOrBuf: string | Buffer): ElfFile {
  const buf = typeof pathOrBuf === 'string' ? readFileSync(pathOrBuf) : pathOrBuf;
  const f = elfy.parse(buf);
  if (f.class !== '32') throw new ToolchainError('not a 32-bit ELF: the ESP32-P4 is RV32');
  const sections: ElfSectionInfo[] = f.body.sections.map((s) => ({
    name: s.name,
    addr: s.addr >>> 0,
    size: s.size >>> 0,
    align: s.addralign >>> 0,
    alloc: !!s.flags.alloc,
    nobits: s.type === 'nobits',
    data: s.data,
  }));
  const symtab = f.body.sections.find((s) => s.type === 'symtab');
  const symbols: ElfSymbol[] = [];
  if (symtab) {
    const strtab = f.body.sections[f.body.sections.indexOf(symtab) + 1]?.type === 'strtab'
      ? f.body.sections[f.body.sections.indexOf(symtab) + 1]
      : f.body.sections.find((s) => s.name === '.strtab');
    const str = strtab?.data ?? Buffer.alloc(0);
    for (let o = 16; o + 16 <= symtab.data.length; o += 16) { // entry 0 is the null symbol
      const d = symtab.data;
      const nameOff = d.readUInt32LE(o);
      const end = str.indexOf(0, nameOff);
      const info = d[o + 12];
      const t = info & 0xf;
      symbols.push({
        name: str.subarray(nameOff, end < 0 ? undefined : end).toString(),
        value: d.readUInt32LE(o + 4),
        size: d.readUInt32LE(o + 8),
        type: t === 2 ? 'func' : t === 1 ? 'object' : 'other',
        section: d.readUInt16LE(o + 14),
        global: info >> 4 === 1 || info >> 4 === 2,
      });
    }
  }
  return { entry: f.entry >>> 0, sections, symbols };
}

/**
 * The bytes to place in device memory for an ELF linked at `base`: every allocated section at its
 * address, .bss as zeros (written explicitly: device memory is not cleared by ALLOC).
 */
export function loadImage(elf: ElfFile, base: number): Buffer {
  const alloc = elf.sections.filter((s) => s.alloc && s.size > 0);
  if (alloc.length === 0) throw new ToolchainError('the linked function has no code');
  const end = Math.max(...alloc.map((s) => s.addr + s.size));
  const image = Buffer.alloc(end - base);
  for (const s of alloc) {
    if (s.addr < base) throw new ToolchainError(`section ${s.name} at 0x${s.addr.toString(16)} lies below the load address`);
    if (!s.nobits) s.data.copy(image, s.addr - base);
  }
  return image;
}

export function findSymbol(elf: ElfFile, name: string): ElfSymbol | undefined {
  return elf.symbols.find((s) => s.name === name && s.section !== 0);
}
