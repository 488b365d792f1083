/** Finds this package's root folder, from compiled modules (out/...) and from the bundle (dist/). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { P4JitError } from './errors.js';

let cached: string | undefined;

export function packageRoot(): string {
  if (cached) return cached;
  // import.meta.url in ES modules; __filename in the CommonJS bundle the extension ships
  const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
  let dir = dirname(here);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'p4-jit') return (cached = dir);
    const up = dirname(dir);
    if (up === dir) throw new P4JitError(`cannot find the p4-jit package root above ${here}`);
    dir = up;
  }
}
