/**
 * Puts compiled code on a device: compile the sources once, ALLOC what the objects' sections need
 * (plus room to grow), link once at that address, upload. Only code that does not fit (library
 * helpers the objects do not show) is linked again, into a larger allocation. Any failure after
 * the ALLOC frees it again, so a failed load leaks nothing on the device.
 */
import type { DeviceClient } from '../device/client.js';
import { MallocCap } from '../protocol/constants.js';
import { compileObject, ENTRY_SYMBOL, linkAt, type BuildOptions, type LinkResult } from '../../toolchain/build.js';
import { findSymbol, readElf } from '../../toolchain/elf.js';
import { P4JitError } from '../util/errors.js';

/** PSRAM for code, as on the P4 (internal L2MEM is not executable under ESP-IDF 5.4+ PMP rules). */
export const DEFAULT_CODE_CAPS = MallocCap.EXEC | MallocCap.SPIRAM | MallocCap['8BIT'];

export interface LoadRequest {
  /** Name used for build products (usually the function name). */
  name: string;
  build: BuildOptions;
  caps?: number;
  align?: number;
  /** Size of a previous build of the same code (a reload after an edit): the allocation keeps at least its room. */
  sizeHint?: number;
  /** Stops the upload between frames (the allocation is then freed, as after any failure). */
  signal?: AbortSignal;
}

export interface LoadedCode {
  name: string;
  addr: number;
  /** Bytes of code and data. */
  size: number;
  /** Bytes allocated on the device (more than size: room to grow on a reload). */
  allocSize: number;
  entry: number;
  link: LinkResult;
}

/** Room a reload leaves for the code to grow: a quarter, at least 256 bytes. */
export const reloadRoom = (size: number) => Math.ceil((size + Math.max(256, size / 4)) / 16) * 16;

export async function compileAll(sources: string[], build: BuildOptions): Promise<string[]> {
  const objects: string[] = [];
  for (const [i, src] of sources.entries()) objects.push(await compileObject(src, build, `${i}-${src.replace(/.*[\\/]/, '')}.o`));
  return objects;
}

/** Output sections the linker script discards (alloc-flagged in objects, absent from the image). */
const DISCARDED = /^\.(eh_frame|note|comment)/;

/** An upper bound of the image from the objects' sections: every allocated one at its alignment. */
export function estimateSize(objects: string[]): number {
  let size = 0;
  for (const o of objects) {
    for (const s of readElf(o).sections) {
      if (!s.alloc || DISCARDED.test(s.name)) continue;
      const align = Math.max(1, s.align);
      size = Math.ceil(size / align) * align + s.size;
    }
  }
  return size;
}

export async function loadObjects(client: DeviceClient, objects: string[], req: LoadRequest): Promise<LoadedCode> {
  let room = reloadRoom(Math.max(estimateSize(objects), req.sizeHint ?? 0));
  // a second link only when library code (libgcc) made the image larger than the room
  for (let attempt = 0; attempt < 3; attempt++) {
    const loaded = await linkInto(client, objects, req, room);
    if (typeof loaded !== 'number') return loaded;
    room = reloadRoom(loaded);
  }
  throw new P4JitError(`${req.name}: the linked size changed at every address; this is a bug, please report it`);
}

/** ALLOC `room` bytes, link at that address, upload; when the code does not fit, frees and returns its size. */
async function linkInto(client: DeviceClient, objects: string[], req: LoadRequest, room: number): Promise<LoadedCode | number> {
  const addr = await client.alloc(room, req.caps ?? DEFAULT_CODE_CAPS, req.align ?? 16);
  try {
    const link = await linkAt(objects, addr, req.name, req.build);
    if (link.image.length > room) {
      await client.free(addr);
      return link.image.length;
    }
    const entry = findSymbol(link.elf, ENTRY_SYMBOL);
    if (!entry) throw new P4JitError(`${ENTRY_SYMBOL} is missing from the linked code`);
    await client.write(addr, link.image, { signal: req.signal });
    return { name: req.name, addr, size: link.image.length, allocSize: room, entry: entry.value, link };
  } catch (e) {
    await client.free(addr).catch(() => undefined); // best effort: the device may be gone
    throw e;
  }
}

/** Compiles `sources` (C, C++ or assembly; one of them defines __p4jit_entry) and loads them. */
export async function loadCode(client: DeviceClient, req: LoadRequest & { sources: string[] }): Promise<LoadedCode> {
  return loadObjects(client, await compileAll(req.sources, req.build), req);
}
