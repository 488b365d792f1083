// Lint: TypeScript's recommended checks that need no type information, and the host's layering
// (scripts/lint/layers.js). Run by `npm run lint`, and by `npm test` before anything else.
import tseslint from 'typescript-eslint';

import layers from './scripts/lint/layers.js';

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'build/**', 'node_modules/**', '.vscode-test/**', 'firmware/**', 'test-results/**', '**/*.d.ts'] },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' },
    plugins: { p4jit: { rules: { layers } }, '@typescript-eslint': tseslint.plugin },
    rules: {
      'p4jit/layers': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-debugger': 'error',
      'no-dupe-keys': 'error',
      'no-unreachable': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
  {
    // the browser's globals exist only in the webviews; the host layers run in Node
    files: ['extension/**/*.ts', 'toolchain/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', ...['window', 'document', 'navigator', 'localStorage', 'HTMLElement', 'customElements', 'requestAnimationFrame']
        .map((name) => ({ name, message: `${name} is a browser global: DOM code belongs in webview/` }))],
    },
  },
);
