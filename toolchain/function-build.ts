/**
 * Builds one C function for the device: finds its signature, generates the entry wrapper into a
 * build folder, compiles the objects — once per content: unchanged sources, flags and toolchain
 * reuse the objects of the previous build (the cache key is a hash of all of them).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';

import { compileFlags, compileObject, type BuildOptions } from './build.js';
import { findFunction, SignatureError, type FunctionSignature } from './signature.js';
import { generateWrapper } from './wrapper.js';

const FOLDER_SOURCE_EXT = new Set(['.c', '.cpp', '.cc', '.cxx', '.S', '.s']);

export interface FunctionBuildRequest {
  file: string;
  name: string;
  build: Omit<BuildOptions, 'buildDir'>;
  /** Build products go to <buildRoot>/<name>-<key>. */
  buildRoot: string;
  /** Link the other C/C++/assembly files of the function's folder in too. */
  linkFolderSources?: boolean;
  /** Argument slots the device accepts (INFO max_args). */
  maxSlots?: number;
}

export interface BuiltFunction {
  signature: FunctionSignature;
  objects: string[];
  /** Hash of everything that went into the objects. */
  key: string;
  buildDir: string;
  /** True when the objects came from an earlier build. */
  cached: boolean;
}

export function folderSources(file: string): string[] {
  const dir = dirname(resolve(file));
  return readdirSync(dir)
    .filter((f) => FOLDER_SOURCE_EXT.has(extname(f)) && resolve(dir, f) !== resolve(file))
    .sort()
    .map((f) => join(dir, f));
}

/** Signatures are read from C: an assembly file is linked in (linkFolderSources), never the run target. */
export function checkRunTarget(file: string): void {
  if (/\.(s|S|asm)$/.test(file)) {
    throw new SignatureError('not-found', `${basename(file)} is assembly, and signatures are read from C: declare the function ` +
      'in a C file of the same folder, call it from a C function there, and link the folder\'s sources', file);
  }
}

export async function buildFunction(req: FunctionBuildRequest): Promise<BuiltFunction> {
  const file = resolve(req.file);
  checkRunTarget(file);
  const source = readFileSync(file, 'utf8');
  const signature = await findFunction(source, req.name, file, { maxSlots: req.maxSlots });
  if (signature.problem) throw signature.problem;
  const wrapper = generateWrapper(signature, { sourcePath: file, includeSource: true });
  const extra = req.linkFolderSources ? folderSources(file) : [];
  const userSources = wrapper.includesSource ? [] : [file];

  const hash = createHash('sha256');
  const flags = compileFlags({ ...req.build, buildDir: '' });
  hash.update(JSON.stringify({ gcc: req.build.toolchain.gcc, flags, name: req.name }));
  hash.update(wrapper.code);
  for (const f of [file, ...extra]) hash.update(f).update(readFileSync(f));
  const key = hash.digest('hex').slice(0, 16);
  const buildDir = join(resolve(req.buildRoot), `${req.name}-${key}`);
  const manifest = join(buildDir, 'objects.json');
  if (existsSync(manifest)) {
    const objects = JSON.parse(readFileSync(manifest, 'utf8')) as string[];
    if (objects.every((o) => existsSync(o))) return { signature, objects, key, buildDir, cached: true };
  }

  mkdirSync(buildDir, { recursive: true });
  const wrapperPath = join(buildDir, wrapper.fileName);
  writeFileSync(wrapperPath, wrapper.code);
  const opts: BuildOptions = { ...req.build, buildDir };
  const objects: string[] = [];
  for (const [i, src] of [wrapperPath, ...userSources, ...extra].entries()) {
    objects.push(await compileObject(src, opts, `${i}-${basename(src)}.o`));
  }
  writeFileSync(manifest, JSON.stringify(objects));
  return { signature, objects, key, buildDir, cached: false };
}
