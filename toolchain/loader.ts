/**
 * Puts compiled code on a device: compile the sources once, link at a placeholder to learn the
 * size, ALLOC, link again at the real address, check the size held, upload. Any failure after the
 * ALLOC frees it again, so a failed load leaks nothing on the device.
 */
import type { DeviceClient } from '../extension/device/client.js';
import { MallocCap } from '../extension/protocol/constants.js';
import { compileObject, ENTRY_SYMBOL, linkAt, PLACEHOLDER_BASE, type BuildOptions, type LinkResult } from './build.js';
import { findSymbol } from './elf.js';

/** PSRAM for code, as on the P4 (internal L2MEM is not executable under ESP-IDF 5.4+ PMP rules). */
export const DEFAULT_CODE_CAPS = MallocCap.EXEC | MallocCap.SPIRAM | MallocCap['8BIT'];

export interface LoadRequest {
  /** Name used for build products (usually the function name). */
  name: string;
  /** C, C++ or assembly files; one of them defines __p4jit_entry. */
  sources: string[];
  build: BuildOptions;
  caps?: number;
  align?: number;
  /**
   * Size of a previous build of the same code (a reload after an edit). The code is then linked
   * once, into an allocation with some room to grow, instead of twice; when it has outgrown the
   * room, the two-pass load runs after all.
   */
  sizeHint?: number;
}

export interface LoadedCode {
  name: string;
  addr: number;
  /** Bytes of code and data. */
  size: number;
  /** Bytes allocated on the device (more than size after a single-link reload). */
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

export async function loadObjects(client: DeviceClient, objects: string[], req: LoadRequest): Promise<LoadedCode> {
  if (req.sizeHint) {
    const loaded = await linkInto(client, objects, req, reloadRoom(req.sizeHint), undefined);
    if (loaded) return loaded;
  }
  const sizing = await linkAt(objects, PLACEHOLDER_BASE, `${req.name}.sizing`, req.build);
  return (await linkInto(client, objects, req, sizing.image.length, sizing.image.length))!;
}

/**
 * ALLOC `room` bytes, link at that address, upload. `exact`: the size the sizing link found, which
 * the second link must reproduce. Without it, returns undefined (having freed the room) when the
 * code does not fit.
 */
async function linkInto(client: DeviceClient, objects: string[], req: LoadRequest, room: number, exact: number | undefined): Promise<LoadedCode | undefined> {
  const addr = await client.alloc(room, req.caps ?? DEFAULT_CODE_CAPS, req.align ?? 16);
  try {
    const link = await linkAt(objects, addr, req.name, req.build);
    if (exact !== undefined && link.image.length !== exact) {
      throw new Error(`the second link changed the size (${exact} → ${link.image.length} bytes); this is a bug, please report it`);
    }
    if (link.image.length > room) {
      await client.free(addr);
      return undefined;
    }
    const entry = findSymbol(link.elf, ENTRY_SYMBOL);
    if (!entry) throw new Error(`${ENTRY_SYMBOL} is missing from the linked code`);
    await client.write(addr, link.image);
    return { name: req.name, addr, size: link.image.length, allocSize: room, entry: entry.value, link };
  } catch (e) {
    await client.free(addr).catch(() => undefined); // best effort: the device may be gone
    throw e;
  }
}

export async function loadCode(client: DeviceClient, req: LoadRequest): Promise<LoadedCode> {
  return loadObjects(client, await compileAll(req.sources, req.build), req);
}
