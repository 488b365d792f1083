/** Session settings a program starts from when the user chose nothing else. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MallocCap } from '../protocol/constants.js';
import type { SessionSettings } from './types.js';

export const DEFAULT_BUILD_ROOT = join(tmpdir(), 'p4jit-build');

/** PSRAM for code and data, as on the P4 (internal L2MEM is not executable under ESP-IDF 5.4+). */
export function defaultSettings(overrides: Partial<SessionSettings> = {}): SessionSettings {
  return {
    optimization: '-O2',
    extraFlags: [],
    codeCaps: MallocCap.EXEC | MallocCap.SPIRAM | MallocCap['8BIT'],
    dataCaps: MallocCap.SPIRAM | MallocCap['8BIT'],
    callTimeLimitMs: 0,
    linkFolderSources: false,
    buildRoot: DEFAULT_BUILD_ROOT,
    ...overrides,
  };
}
