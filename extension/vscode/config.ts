/**
 * Reads the p4jit.* settings. A bad value never stops the extension: it is reported once, naming
 * the setting, and the default is used instead.
 */
import * as vscode from 'vscode';

import { MallocCap } from '../protocol/constants.js';

export const OPTIMIZATION_LEVELS = ['-O0', '-O1', '-O2', '-O3', '-Os'] as const;
/** Heap regions a user can choose, as ESP-IDF MALLOC_CAP_* names. */
export const HEAP_REGIONS = { SPIRAM: MallocCap.SPIRAM, INTERNAL: MallocCap.INTERNAL } as const;
export type HeapRegion = keyof typeof HEAP_REGIONS;

export interface P4JitConfig {
  /** 'auto' | 'emulator' | a port path. */
  port: string;
  toolchainPath: string;
  firmwareElf: string;
  optimization: string;
  extraFlags: string[];
  codeCaps: HeapRegion;
  dataCaps: HeapRegion;
  callTimeoutMs: number;
  compileOnSave: boolean;
  codeLensEnabled: boolean;
  pollIntervalMs: number;
  emulatorIcount: boolean;
  linkFolderSources: boolean;
}

export const DEFAULTS: P4JitConfig = {
  port: 'auto',
  toolchainPath: '',
  firmwareElf: '',
  optimization: '-O2',
  extraFlags: [],
  codeCaps: 'SPIRAM',
  dataCaps: 'SPIRAM',
  callTimeoutMs: 0,
  compileOnSave: true,
  codeLensEnabled: true,
  pollIntervalMs: 2000,
  emulatorIcount: true,
  linkFolderSources: false,
};

type Check<T> = (value: unknown) => value is T;

const isString: Check<string> = (v): v is string => typeof v === 'string';
const isBool: Check<boolean> = (v): v is boolean => typeof v === 'boolean';
const intIn = (min: number, max: number): Check<number> =>
  (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const oneOf = <T extends string>(values: readonly T[]): Check<T> => (v): v is T => values.includes(v as T);
const isFlagList: Check<string[]> = (v): v is string[] => Array.isArray(v) && v.every((f) => typeof f === 'string' && f.trim() !== '');
const isPort: Check<string> = (v): v is string => typeof v === 'string' && v.trim() !== '';

/** Each setting: its key under p4jit., the field it fills, and what a valid value is. */
const SETTINGS: { [K in keyof P4JitConfig]: [key: string, check: Check<P4JitConfig[K]>, expected: string] } = {
  port: ['port', isPort, '"auto", "emulator" or a serial port path'],
  toolchainPath: ['toolchainPath', isString, 'a path'],
  firmwareElf: ['firmwareElf', isString, 'a path'],
  optimization: ['optimization', oneOf(OPTIMIZATION_LEVELS), OPTIMIZATION_LEVELS.join(', ')],
  extraFlags: ['extraFlags', isFlagList, 'a list of non-empty strings'],
  codeCaps: ['codeCaps', oneOf(Object.keys(HEAP_REGIONS) as HeapRegion[]), Object.keys(HEAP_REGIONS).join(' or ')],
  dataCaps: ['dataCaps', oneOf(Object.keys(HEAP_REGIONS) as HeapRegion[]), Object.keys(HEAP_REGIONS).join(' or ')],
  callTimeoutMs: ['callTimeoutMs', intIn(0, 600_000), 'a whole number of milliseconds from 0 to 600000'],
  compileOnSave: ['compileOnSave', isBool, 'true or false'],
  codeLensEnabled: ['codeLens.enabled', isBool, 'true or false'],
  pollIntervalMs: ['panel.pollIntervalMs', intIn(0, 60_000), 'a whole number of milliseconds from 0 to 60000'],
  emulatorIcount: ['emulator.icount', isBool, 'true or false'],
  linkFolderSources: ['linkFolderSources', isBool, 'true or false'],
};

const warned = new Set<string>();
/** Every warning about a bad setting given so far, in order (the integration tests read it). */
export const settingWarnings: string[] = [];

/**
 * The settings for `scope` (a file, so folder settings apply), each checked. `warn` is told about
 * each bad value once per value, not on every read.
 */
export function readConfig(scope?: vscode.Uri, warn: (message: string) => void = defaultWarn): P4JitConfig {
  const section = vscode.workspace.getConfiguration('p4jit', scope);
  const config = { ...DEFAULTS } as Record<keyof P4JitConfig, unknown>;
  for (const field of Object.keys(SETTINGS) as (keyof P4JitConfig)[]) {
    const [key, check, expected] = SETTINGS[field];
    const value = section.get<unknown>(key, DEFAULTS[field]);
    if (check(value)) {
      config[field] = value;
      continue;
    }
    const id = `${key}=${JSON.stringify(value)}`;
    if (!warned.has(id)) {
      warned.add(id);
      settingWarnings.push(`p4jit.${key}`);
      warn(`The setting "p4jit.${key}" has an invalid value ${JSON.stringify(value)} (expected ${expected}); using the default ${JSON.stringify(DEFAULTS[field])}.`);
    }
  }
  return config as unknown as P4JitConfig;
}

function defaultWarn(message: string): void {
  void vscode.window.showWarningMessage(`P4-JIT: ${message}`, 'Open Settings').then((choice) => {
    if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', 'p4jit');
  });
}

/** Heap caps for code: executable, byte-addressable, in the chosen region. */
export function codeCapsBits(region: HeapRegion): number {
  return MallocCap.EXEC | MallocCap['8BIT'] | HEAP_REGIONS[region];
}

export function dataCapsBits(region: HeapRegion): number {
  return MallocCap['8BIT'] | HEAP_REGIONS[region];
}

/** Where the chosen port is stored: the workspace when one is open, else the user's settings. */
export async function storePort(port: string): Promise<void> {
  const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration('p4jit').update('port', port, target);
}
