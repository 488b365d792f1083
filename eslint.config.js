// Lint: TypeScript's recommended checks that need no type information, the host's layering
// (scripts/lint/layers.js), and the code's format (ESLint Stylistic: `npm run format` applies it).
// Run by `npm run lint`, and by `npm test` before anything else.
import stylistic from '@stylistic/eslint-plugin';
import tseslint from 'typescript-eslint';

import layers from './scripts/lint/layers.js';

/**
 * The format, as the code is written: 2-space indents, single quotes, semicolons, trailing commas in
 * multi-line lists, one blank line at most. Long lines are allowed up to 200 columns (a call with
 * its arguments on one line often reads better than wrapped), never longer.
 */
const FORMAT = {
  '@stylistic/indent': ['error', 2, { SwitchCase: 1, flatTernaryExpressions: true, offsetTernaryExpressions: true }],
  '@stylistic/quotes': ['error', 'single', { avoidEscape: true, allowTemplateLiterals: 'always' }],
  '@stylistic/semi': ['error', 'always'],
  '@stylistic/comma-dangle': ['error', 'always-multiline'],
  '@stylistic/no-trailing-spaces': 'error',
  '@stylistic/eol-last': 'error',
  '@stylistic/no-multiple-empty-lines': ['error', { max: 1, maxEOF: 0, maxBOF: 0 }],
  '@stylistic/brace-style': ['error', '1tbs', { allowSingleLine: true }],
  '@stylistic/keyword-spacing': 'error',
  '@stylistic/space-infix-ops': 'error',
  '@stylistic/space-before-blocks': 'error',
  '@stylistic/arrow-parens': ['error', 'always'],
  '@stylistic/comma-spacing': 'error',
  '@stylistic/key-spacing': 'error',
  '@stylistic/member-delimiter-style': 'error',
  '@stylistic/type-annotation-spacing': 'error',
  '@stylistic/max-len': ['error', { code: 200, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true }],
};

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'build/**', 'node_modules/**', '.vscode-test/**', 'firmware/**', 'test-results/**', '**/*.d.ts'] },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' },
    plugins: { p4jit: { rules: { layers } }, '@typescript-eslint': tseslint.plugin, '@stylistic': stylistic },
    rules: {
      'p4jit/layers': 'error',
      ...FORMAT,
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
  {
    // one error root: a caller tells P4-JIT's errors from their own code's with one instanceof
    files: ['extension/**/*.ts', 'toolchain/**/*.ts', 'webview/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: "NewExpression[callee.name=/^(Range|Type)?Error$/], CallExpression[callee.name=/^(Range|Type)?Error$/], ClassDeclaration[superClass.name='Error']",
        message: 'throw a P4JitError (extension/util/errors.ts) or one of its kinds, not a bare Error, RangeError or TypeError',
      }],
    },
  },
);
