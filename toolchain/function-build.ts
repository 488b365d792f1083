/**
 * Builds one C function for the device: finds its signature, generates the entry wrapper,
 * compiles the objects — once per content: the build cache (build-cache.ts) keys each build by the
 * compiler, the flags and every file the compiler read, headers included.
 *
 * The signature is read from the source first (fast, and the only way without a compiler), then
 * checked against the compiler's own view of the function (GCC's -aux-info, written by the same
 * compile): when the build's -D/-I flags or macros make them differ, the compiler's view wins and
 * the wrapper is built again. A function the source parse cannot see (made by a macro, or decided
 * by an #if) is taken from the compiler's view directly.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';

import { auxDefinition, parseAuxInfo, sameCall, signatureFromAux, type AuxEntry } from './aux-info.js';
import { compileFailure, compileFlags, compileObject, runCompiler, type BuildOptions } from './build.js';
import { BuildCache, contentKey, parseDepfile, type CacheLimits } from './build-cache.js';
import { findFunction, MAX_ARG_SLOTS, SignatureError, type FunctionSignature, type SignatureProblemCode } from './signature.js';
import { generateWrapper } from './wrapper.js';

const FOLDER_SOURCE_EXT = new Set(['.c', '.cpp', '.cc', '.cxx', '.S', '.s']);
/** Source-parse problems the compiler's view can settle (macros, -D flags, #if branches). */
const SETTLED_BY_COMPILER = new Set<SignatureProblemCode>(['not-found', 'declared-only', 'ambiguous', 'parse-error', 'unknown-type']);

export interface FunctionBuildRequest {
  file: string;
  name: string;
  build: Omit<BuildOptions, 'buildDir'>;
  /** The build cache folder (private to the user: see private-dir.ts). */
  buildRoot: string;
  /** Link the other C/C++/assembly files of the function's folder in too. */
  linkFolderSources?: boolean;
  /** Further sources (C, C++ or assembly) linked into this function, e.g. a notebook's assembly cells. */
  linkWith?: readonly string[];
  /** Argument slots the device accepts (INFO max_args). */
  maxSlots?: number;
  cacheLimits?: CacheLimits;
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

/** Everything but the files' content that decides a build (a new compiler binary, other flags, another folder for relative -I). */
function inputsKey(req: FunctionBuildRequest, file: string, extra: string[], flags: string[]): string {
  const gcc = statSync(req.build.toolchain.gcc);
  return createHash('sha256')
    .update(JSON.stringify({ gcc: req.build.toolchain.gcc, gccSize: gcc.size, gccTime: gcc.mtimeMs, flags, name: req.name, file, extra, cwd: process.cwd() }))
    .digest('hex').slice(0, 20);
}

export async function buildFunction(req: FunctionBuildRequest): Promise<BuiltFunction> {
  const file = resolve(req.file);
  checkRunTarget(file);
  const cache = new BuildCache(req.buildRoot, req.cacheLimits);
  const extra = [...(req.linkFolderSources ? folderSources(file) : []), ...(req.linkWith ?? []).map((f) => resolve(f))]
    .filter((f, i, all) => f !== file && all.indexOf(f) === i);
  const flags = compileFlags({ ...req.build, buildDir: '' });
  const inputs = inputsKey(req, file, extra, flags);
  const hit = cache.lookup(req.name, inputs);
  if (hit && hit.manifest.signature.params.length <= (req.maxSlots ?? MAX_ARG_SLOTS)) {
    return { signature: hit.manifest.signature, objects: hit.manifest.objects.map((o) => join(hit.dir, o.file)), key: hit.manifest.key, buildDir: hit.dir, cached: true };
  }

  const sourceBytes = readFileSync(file);
  const source = sourceBytes.toString('utf8');
  const started = Date.now();
  const staging = cache.stage();
  try {
    const built = await compileInto(staging, file, source, extra, req);
    // an edit saved while the compiler ran: the objects may be of either version, so this build
    // serves this run only and is never cached (the source by its content: its save may carry a
    // time later than the clock read here)
    const changed = !readFileSync(file).equals(sourceBytes) ||
      built.deps.some((d) => d !== file && (statSync(d, { throwIfNoEntry: false })?.mtimeMs ?? Infinity) > started);
    // keyed by the very bytes compiled: re-reading the file here could take a save that lands
    // after the check above, and file the old objects under the new content
    const key = changed ? undefined : contentKey(inputs, built.deps, new Map([[file, sourceBytes]]));
    if (!key) {
      return { signature: built.signature, objects: built.objects.map((o) => join(staging, o)), key: `unsaved-${randomBytes(8).toString('hex')}`, buildDir: staging, cached: false };
    }
    const dir = cache.commit(staging, req.name, key, built.signature, built.objects, built.deps, inputs);
    return { signature: built.signature, objects: built.objects.map((o) => join(dir, o)), key, buildDir: dir, cached: false };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/** The signature the source shows, or the problem the compiler's view may settle. */
async function sourceSignature(source: string, name: string, file: string, maxSlots?: number): Promise<FunctionSignature | SignatureError> {
  try {
    const sig = await findFunction(source, name, file, { maxSlots });
    if (sig.problem) throw sig.problem;
    return sig;
  } catch (e) {
    if (e instanceof SignatureError && SETTLED_BY_COMPILER.has(e.code)) return e;
    throw e;
  }
}

/** Compiles the wrapper and the function into `staging`; returns object file names and the files the compiler read. */
async function compileInto(staging: string, file: string, source: string, extra: string[], req: FunctionBuildRequest): Promise<{
  signature: FunctionSignature; objects: string[]; deps: string[];
}> {
  const opts: BuildOptions = { ...req.build, buildDir: staging };
  const flags = compileFlags(opts);
  const maxSlots = req.maxSlots;
  const unitAux = join(staging, 'unit.aux');
  const wrapperPath = join(staging, 'p4jit_entry.c');
  let wrapper = { includesSource: false };
  const compileUnit = async (sig: FunctionSignature) => {
    const w = generateWrapper(sig, { sourcePath: file, includeSource: true });
    wrapper = w;
    writeFileSync(wrapperPath, w.code);
    rmSync(unitAux, { force: true });
    const r = await runCompiler([...flags, '-MD', '-MF', join(staging, '0.d'), ...(w.includesSource ? ['-aux-info', unitAux] : []),
      // the staging folder is renamed: debug info names the wrapper relative to the entry
      `-fdebug-prefix-map=${staging}=.`, '-c', wrapperPath, '-o', join(staging, '0-p4jit_entry.c.o')], opts);
    return { ...r, aux: readAux(unitAux) };
  };

  let signature = await sourceSignature(source, req.name, file, maxSlots);
  if (signature instanceof SignatureError) {
    const seen = await compilerView(file, opts, source, req.name, maxSlots);
    if (!seen) throw signature;
    signature = seen;
  }
  if (signature.problem) throw signature.problem;
  let unit = await compileUnit(signature);
  if (unit.aux) {
    const def = auxDefinition(unit.aux, file, req.name);
    if (!def && unit.ok) {
      throw new SignatureError('not-found', `'${req.name}' is not defined when ${basename(file)} is compiled with the build's flags ` +
        '(is its definition inside an #if they decide?)', file, signature.startLine);
    }
    const seen = def && await signatureFromAux(def, source, file, { maxSlots });
    if (seen && !sameCall(signature, seen)) {
      // the build's flags or macros changed the signature: the compiler's view is the one called
      if (seen.problem) throw seen.problem;
      signature = seen;
      unit = await compileUnit(signature);
    }
  }
  if (!unit.ok) throw compileFailure(unit.text);

  const objects = ['0-p4jit_entry.c.o'];
  const others = [...(wrapper.includesSource ? [] : [file]), ...extra];
  for (const [i, src] of others.entries()) {
    const obj = `${i + 1}-${basename(src)}.o`;
    await compileObject(src, opts, obj, ['-MD', '-MF', join(staging, `${i + 1}.d`)]);
    objects.push(obj);
  }
  const deps = new Set<string>();
  for (let i = 0; i < objects.length; i++) {
    for (const d of parseDepfile(readFileSync(join(staging, `${i}.d`), 'utf8'))) {
      const abs = resolve(d);
      if (!abs.startsWith(staging + sep)) deps.add(abs);
    }
  }
  return { signature, objects, deps: [...deps].sort() };
}

function readAux(path: string): AuxEntry[] | undefined {
  try {
    return parseAuxInfo(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The function as the compiler sees the file alone with the build's flags (syntax only, no code). */
async function compilerView(file: string, opts: BuildOptions, source: string, name: string, maxSlots?: number): Promise<FunctionSignature | undefined> {
  if (/\.(cpp|cc|cxx|c\+\+)$/i.test(file)) return undefined; // -aux-info is C only
  const aux = join(opts.buildDir, 'source.aux');
  const r = await runCompiler([...compileFlags(opts), '-fsyntax-only', '-aux-info', aux, file], opts);
  if (!r.ok) throw compileFailure(r.text);
  const def = auxDefinition(readAux(aux) ?? [], file, name);
  return def && signatureFromAux(def, source, file, { maxSlots });
}
