// Suite run by run-vsix.ts against the extension installed from its .vsix.
import { runSuites } from '../../harness/mocha-index.js';

export const run = () => runSuites({ dir: import.meta.dirname, pattern: /\.check\.js$/, timeoutMs: 300_000 });
