// Bundles the webviews: the device panel (webview/panel/main.ts → panel.js, panel.css → panel.css) and
// the notebook renderer for plots (webview/notebook/renderer.ts → notebook-renderer.js, an ES module
// with its stylesheet inside).
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
  const common = {
    bundle: true, // the element library, lit and uPlot go into the bundle: a webview cannot load node_modules
    platform: 'browser',
    // VS Code 1.100 runs webviews in Electron 34 (Chromium 132).
    target: ['chrome120'],
    minify: true,
    legalComments: 'eof', // keeps the licence notices of the bundled libraries
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: projectRoot,
  };
  const panel = await esbuild.build({
    ...common,
    entryPoints: [
      { in: path.join(panelDir, 'main.ts'), out: 'panel' },
      { in: path.join(panelDir, 'panel.css'), out: 'panel' },
    ],
    outdir: outDir,
    format: 'iife',
  });
  // VS Code imports a notebook renderer as an ES module exporting activate()
  const renderer = await esbuild.build({
    ...common,
    entryPoints: [{ in: path.join(projectRoot, 'webview', 'notebook', 'renderer.ts'), out: 'notebook-renderer' }],
    outdir: outDir,
    format: 'esm',
    plugins: [cssAsText],
  });
  const files = {};
  const outputs = { ...panel.metafile.outputs, ...renderer.metafile.outputs };
  for (const [file, info] of Object.entries(outputs)) {
    const absolute = path.resolve(projectRoot, file);
    const relative = path.relative(projectRoot, absolute);
    files[relative.startsWith('..') ? absolute : relative] = info.bytes;
  }
  return { files };
}

/** `import styles from './x.css'` gives the stylesheet with its @imports resolved, as a string. */
const cssAsText = {
  name: 'css-as-text',
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async (args) => {
      const css = await esbuild.build({
        entryPoints: [args.path], bundle: true, minify: true, write: false, logLevel: 'warning', absWorkingDir: projectRoot,
      });
      return { contents: css.outputFiles[0].text, loader: 'text' };
    });
  },
};

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = path.resolve(process.argv[2] ?? path.join(projectRoot, 'dist', 'webview'));
  const { files } = await buildWebview(outDir);
  for (const [file, bytes] of Object.entries(files)) console.log(`${file}  ${(bytes / 1024).toFixed(1)} KiB`);
}
