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
}

export interface LoadedCode {
  name: string;
  addr: number;
  size: number;
  entry: number;
  link: LinkResult;
}

export async function compileAll(sources: string[], build: BuildOptions): Promise<string[]> {
  const objects: string[] = [];
  for (const [i, src] of sources.entries()) objects.push(await compileObject(src, build, `${i}-${src.replace(/.*[\\/]/, '')}.o`));
  return objects;
}

export async function loadObjects(client: DeviceClient, objects: string[], req: LoadRequest): Promise<LoadedCode> {
  const sizing = await linkAt(objects, PLACEHOLDER_BASE, `${req.name}.sizing`, req.build);
  const size = sizing.image.length;
  const addr = await client.alloc(size, req.caps ?? DEFAULT_CODE_CAPS, req.align ?? 16);
  try {
    const link = await linkAt(objects, addr, req.name, req.build);
    if (link.image.length !== size) {
      throw new Error(`the second link changed the size (${size} → ${link.image.length} bytes); this is a bug, please report it`);
    }
    const entry = findSymbol(link.elf, ENTRY_SYMBOL);
    if (!entry) throw new Error(`${ENTRY_SYMBOL} is missing from the linked code`);
    await client.write(addr, link.image);
    return { name: req.name, addr, size, entry: entry.value, link };
  } catch (e) {
    await client.free(addr).catch(() => undefined); // best effort: the device may be gone
    throw e;
  }
}

export async function loadCode(client: DeviceClient, req: LoadRequest): Promise<LoadedCode> {
  return loadObjects(client, await compileAll(req.sources, req.build), req);
}
