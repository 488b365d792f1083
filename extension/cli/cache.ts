/** p4jit cache [clean]: where the build cache is and what it holds; clean empties it. */
import { BuildCache } from '../../toolchain/build-cache.js';
import { DEFAULT_BUILD_ROOT } from '../session/defaults.js';

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export function cacheCommand(pos: string[], json: boolean | undefined, usage: (msg: string) => Error): void {
  if (pos.length > 1 || (pos[0] !== undefined && pos[0] !== 'clean')) throw usage('cache takes no argument or "clean"');
  const cache = new BuildCache(DEFAULT_BUILD_ROOT);
  if (pos[0] === 'clean') {
    const r = cache.clean();
    console.log(json ? JSON.stringify({ root: cache.root, ...r }) : `removed ${r.removed} builds (${mb(r.bytes)}) from ${cache.root}`);
    return;
  }
  const entries = cache.entries();
  const bytes = entries.reduce((n, e) => n + e.bytes, 0);
  console.log(json ? JSON.stringify({ root: cache.root, builds: entries.length, bytes, maxBytes: cache.limits.maxBytes })
    : `${cache.root}: ${entries.length} builds, ${mb(bytes)} (at most ${mb(cache.limits.maxBytes)}, least recently used out first)`);
}
