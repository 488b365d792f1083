/** Paths tests need, independent of where the compiled test file lives. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { packageRoot } from '../../extension/util/package-root.js';

export const repoRoot = packageRoot();
export const fixture = (name: string) => join(repoRoot, 'test', 'fixtures', name);
export const scratchDir = (tag: string) => mkdtempSync(join(tmpdir(), `p4jit-${tag}-`));
