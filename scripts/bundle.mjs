// Bundles the VS Code extension into dist/ so the packaged extension needs no node_modules tree:
//   dist/extension.cjs        extension/vscode/extension.ts and everything it imports (CommonJS:
//                             VS Code 1.100 loads extensions with require)
//   dist/tool-runner.cjs      the small process that starts the compiler and linker
//   dist/webview/             the device panel (webview/build.mjs)
//   dist/*.wasm               the C parser (web-tree-sitter runtime + tree-sitter-c grammar)
//   dist/node_modules/        what cannot be bundled: the serial port's native binding, found at
//                             run time by node-gyp-build next to its own files, and elfy, which
//                             the toolchain loads through createRequire
// Usage: node scripts/bundle.mjs [--minify]
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

import { buildWebview } from '../webview/build.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');
const require = createRequire(path.join(root, 'package.json'));

/** Packages loaded at run time from dist/node_modules instead of the bundle. */
const RUNTIME_PACKAGES = ['@serialport/bindings-cpp', 'elfy'];
/** Build-time dependencies of those that are never loaded at run time. */
const BUILD_ONLY = new Set(['node-addon-api']);
/** Files of the runtime packages not worth shipping. */
const SKIP_FILE = /\.(d\.c?ts|map|md|gyp|cc|cpp|h|mm)$|[\\/](test|\.npmignore)([\\/]|$)/;

const started = Date.now();
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

/** What both bundles share: Node 20, CommonJS, minified for the package. */
const nodeBundle = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: process.argv.includes('--minify'),
  metafile: true,
  logLevel: 'warning',
  absWorkingDir: root,
};

const result = await esbuild.build({
  ...nodeBundle,
  entryPoints: [path.join(root, 'extension', 'vscode', 'extension.ts')],
  outfile: path.join(dist, 'extension.cjs'),
  external: ['vscode', ...RUNTIME_PACKAGES],
  // ES modules in the bundle (ours, web-tree-sitter) ask import.meta.url where they are.
  define: { 'import.meta.url': 'importMetaUrl' },
  // the load start lets the extension report activation including the bundle's own evaluation
  banner: { js: 'const __p4jitLoadStart = performance.now(); const importMetaUrl = require("url").pathToFileURL(__filename).href;' },
  sourcemap: true,
  sourcesContent: false,
  keepNames: true,
});

// the tool runner's process (toolchain/tool-runner.ts), started beside the bundle
const runner = await esbuild.build({
  ...nodeBundle,
  entryPoints: [path.join(root, 'toolchain', 'tool-runner-child.ts')],
  outfile: path.join(dist, 'tool-runner.cjs'),
});
for (const [file, out] of Object.entries(runner.metafile.outputs)) result.metafile.outputs[file] = out;

const webview = await buildWebview(path.join(dist, 'webview'));

// The parser's WebAssembly, where extension.ts points setParserWasmPaths.
cpSync(require.resolve('web-tree-sitter/web-tree-sitter.wasm'), path.join(dist, 'web-tree-sitter.wasm'));
cpSync(path.join(path.dirname(require.resolve('tree-sitter-c/package.json')), 'tree-sitter-c.wasm'), path.join(dist, 'tree-sitter-c.wasm'));

// Runtime packages and their dependencies, laid out as Node resolves them.
const copied = new Set();
for (const name of RUNTIME_PACKAGES) copyPackage(name, path.join(root, 'node_modules'));

function copyPackage(name, fromDir) {
  const dir = resolvePackageDir(name, fromDir);
  if (copied.has(dir)) return;
  copied.add(dir);
  const target = path.join(dist, 'node_modules', path.relative(path.join(root, 'node_modules'), dir));
  cpSync(dir, target, {
    recursive: true,
    filter: (src) => !src.slice(dir.length).includes(`${path.sep}node_modules`) && !SKIP_FILE.test(src.slice(dir.length)),
  });
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  for (const dep of Object.keys(pkg.dependencies ?? {})) if (!BUILD_ONLY.has(dep)) copyPackage(dep, dir);
}

/** The folder Node would load `name` from when required by a file in `fromDir`. */
function resolvePackageDir(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, dir.endsWith(`${path.sep}node_modules`) ? '' : 'node_modules', name);
    if (existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`cannot find package ${name} from ${fromDir}`);
  }
}

const size = (file) => statSync(path.join(dist, file)).size;
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
const bundleBytes = Object.values(result.metafile.outputs).reduce((n, o) => n + (o.bytes ?? 0), 0) - size('extension.cjs.map');
console.log(`bundle: dist/extension.cjs ${kib(bundleBytes)}, webview ${kib(Object.values(webview.files).reduce((a, b) => a + b, 0))}, ` +
  `wasm ${kib(size('web-tree-sitter.wasm') + size('tree-sitter-c.wasm'))}, ${copied.size} runtime packages in dist/node_modules ` +
  `(${Date.now() - started} ms)`);
