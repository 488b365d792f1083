// The extension's integration suite, run inside a real VS Code by the harness (code-server) or by
// @vscode/test-electron. The .vsix check has its own index (vsix/index.ts).
import { runSuites } from '../harness/mocha-index.js';

export const run = () => runSuites({ dir: import.meta.dirname, pattern: /^[^/]*\.test\.js$/, timeoutMs: 180_000 });
