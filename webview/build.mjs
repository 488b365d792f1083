// Bundles the device panel webview: webview/panel/main.ts → panel.js, webview/panel/panel.css → panel.css.
// Import and call buildWebview(outDir), or run `node webview/build.mjs [outDir]` (default dist/webview).
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const panelDir = fileURLToPath(new URL('./panel/', import.meta.url));
const projectRoot = fileURLToPath(new URL('../', import.meta.url));

/**
 * @param {string} outDir where panel.js and panel.css are written
 * @returns {Promise<{ files: Record<string, number> }>} the bytes written per output file
 */
export async function buildWebview(outDir) {
  const result = await esbuild.build({
    entryPoints: [
      { in: path.join(panelDir, 'main.ts'), out: 'panel' },
      { in: path.join(panelDir, 'panel.css'), out: 'panel' },
    ],
    outdir: outDir,
    bundle: true, // the element library and lit go into the bundle: a webview cannot load node_modules
    platform: 'browser',
    format: 'iife',
    // VS Code 1.100 runs webviews in Electron 34 (Chromium 132).
    target: ['chrome120'],
    minify: true,
    legalComments: 'eof', // keeps the licence notices of the bundled libraries
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: projectRoot,
  });
  const files = {};
  for (const [file, info] of Object.entries(result.metafile.outputs)) {
    const absolute = path.resolve(projectRoot, file);
    const relative = path.relative(projectRoot, absolute);
    files[relative.startsWith('..') ? absolute : relative] = info.bytes;
  }
  return { files };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = path.resolve(process.argv[2] ?? path.join(projectRoot, 'dist', 'webview'));
  const { files } = await buildWebview(outDir);
  for (const [file, bytes] of Object.entries(files)) console.log(`${file}  ${(bytes / 1024).toFixed(1)} KiB`);
}
