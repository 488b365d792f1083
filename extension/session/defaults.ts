/** Session settings a program starts from when the user chose nothing else. */
import { join } from 'node:path';

import { MallocCap } from '../protocol/constants.js';
import { DEFAULT_CODE_CAPS } from './loader.js';
import { userCacheDir } from '../../toolchain/private-dir.js';
import type { SessionSettings } from './types.js';

/** The user's own build cache (never a shared folder such as /tmp: its code runs on the device). */
export const DEFAULT_BUILD_ROOT = join(userCacheDir(), 'build');

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
