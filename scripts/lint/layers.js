/**
 * ESLint rule `p4jit/layers`: an import may only go down the host's layers (README, "What is in
 * here"; docs/architecture.md). Each file belongs to the layer of its folder; an import of a file in
 * a layer not listed under its own is reported with both names. Only the `vscode` glue may import
 * the `vscode` module. Paths are compared as written (`../device/client.js`), resolved against the
 * importing file, so no module resolver is needed and no import can slip through unresolved.
 */
import { dirname, relative, resolve, sep } from 'node:path';

/** Each layer and the layers it may import, lowest first. */
export const LAYERS = {
  'extension/util': [],
  'extension/protocol': ['extension/util'],
  'extension/device': ['extension/protocol', 'extension/util'],
  toolchain: ['extension/util'],
  'extension/emulator': ['extension/protocol', 'extension/device', 'toolchain', 'extension/util'],
  'extension/session': ['extension/protocol', 'extension/device', 'toolchain', 'extension/emulator', 'extension/util'],
  'extension/connect': ['extension/protocol', 'extension/device', 'extension/emulator', 'extension/session', 'extension/util'],
  'extension/api': ['extension/protocol', 'extension/device', 'toolchain', 'extension/emulator', 'extension/session', 'extension/connect', 'extension/util'],
  'extension/notebook': ['extension/api', 'extension/session', 'toolchain', 'extension/util', 'webview'], // webview: the plot spec (pure)
  extension: ['extension/api', 'extension/protocol', 'extension/device', 'toolchain', 'extension/session'], // index.ts: the public entry
  'extension/cli': ['extension/protocol', 'extension/device', 'toolchain', 'extension/emulator', 'extension/session', 'extension/connect', 'extension/api', 'extension/util'],
  webview: ['extension/protocol', 'extension/session', 'extension/util'],
  'extension/vscode': ['extension/protocol', 'extension/device', 'toolchain', 'extension/emulator', 'extension/session', 'extension/connect', 'extension/api', 'extension/notebook', 'extension/util', 'webview'],
};

/** The layer a repository-relative path is in, or undefined (tests, scripts, bench, examples). */
export function layerOf(rel) {
  const parts = rel.split(/[\\/]/);
  if (parts[0] === 'toolchain' || parts[0] === 'webview') return parts[0];
  if (parts[0] !== 'extension') return undefined;
  if (parts.length === 2) return 'extension';
  const layer = `extension/${parts[1]}`;
  return layer in LAYERS ? layer : undefined;
}

const root = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');

export default {
  meta: {
    type: 'problem',
    docs: { description: 'imports go only down the layers' },
    messages: {
      upward: '{{from}} may not import {{to}} ({{source}}): it may import {{allowed}}',
      vscode: "only extension/vscode may import 'vscode' ({{from}} is a pure layer, used by the CLI and scripts too)",
      unknown: '{{to}} is in no layer: add its folder to LAYERS in scripts/lint/layers.js',
    },
    schema: [],
  },
  create(context) {
    const file = relative(root, context.filename).split(sep).join('/');
    const from = layerOf(file);
    if (!from) return {};
    const check = (node, source) => {
      if (typeof source !== 'string') return;
      if (source === 'vscode') {
        if (from !== 'extension/vscode') context.report({ node, messageId: 'vscode', data: { from } });
        return;
      }
      if (!source.startsWith('.')) return; // a package
      const target = relative(root, resolve(dirname(context.filename), source)).split(sep).join('/');
      if (target.startsWith('..')) return;
      const to = layerOf(target);
      if (to === from) return;
      if (!to) {
        if (/^(extension|toolchain|webview)\//.test(target)) context.report({ node, messageId: 'unknown', data: { to: target } });
        return;
      }
      if (!LAYERS[from].includes(to)) {
        context.report({ node, messageId: 'upward', data: { from, to, source, allowed: LAYERS[from].join(', ') || 'nothing of ours' } });
      }
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};
