/** Session settings a program starts from when the user chose nothing else. */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { MallocCap } from '../protocol/constants.js';
import { DEFAULT_CODE_CAPS } from '../../toolchain/loader.js';
import type { SessionSettings } from './types.js';

export const DEFAULT_BUILD_ROOT = join(tmpdir(), 'p4jit-build');

/** PSRAM for code (see DEFAULT_CODE_CAPS) and for data. */
export function defaultSettings(overrides: Partial<SessionSettings> = {}): SessionSettings {
  return {
    optimization: '-O2',
    extraFlags: [],
    codeCaps: DEFAULT_CODE_CAPS,
    dataCaps: MallocCap.SPIRAM | MallocCap['8BIT'],
    callTimeLimitMs: 0,
    linkFolderSources: false,
    buildRoot: DEFAULT_BUILD_ROOT,
    ...overrides,
  };
}
