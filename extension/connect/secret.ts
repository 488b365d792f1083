/**
 * Where a command's (or script's) authentication secret comes from: P4JIT_SECRET, --secret-file FILE ("-" for
 * standard input), or --secret S, which still works but shows the secret to every local user in
 * `ps`; on a terminal, a prompt that does not echo when a device asks and none was given.
 */
import { readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

import type { DeviceClient } from '../device/client.js';
import { DeviceCap } from '../protocol/constants.js';
import { P4JitError } from '../util/errors.js';

export interface Secret {
  value: string;
  /** Where it came from, for messages ("P4JIT_SECRET", "--secret-file key.txt", ...). */
  from: string;
}

export class SecretError extends P4JitError {
  override name = 'SecretError';
}

/** The secret given to this command, if any; `warn` receives advice about how it was given. */
export function secretFromOptions(
  v: { secret?: string; 'secret-file'?: string },
  env: NodeJS.ProcessEnv = process.env,
  warn: (message: string) => void = (m) => console.error(`p4jit: ${m}`),
): Secret | undefined {
  if (v.secret !== undefined && v['secret-file'] !== undefined) throw new SecretError('give --secret or --secret-file, not both');
  if (v['secret-file'] !== undefined) return { value: readSecretFile(v['secret-file'], warn), from: `--secret-file ${v['secret-file']}` };
  if (v.secret !== undefined) {
    if (v.secret === '') throw new SecretError('--secret is empty');
    warn('--secret shows the secret to every user of this machine (ps, /proc): prefer P4JIT_SECRET or --secret-file FILE');
    return { value: v.secret, from: '--secret' };
  }
  return env.P4JIT_SECRET ? { value: env.P4JIT_SECRET, from: 'P4JIT_SECRET' } : undefined;
}

/** A secret file's first line (a trailing newline is not part of the secret). */
function readSecretFile(path: string, warn: (message: string) => void): string {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    throw new SecretError(`cannot read the secret file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new SecretError(`the secret file ${path} is empty`);
  if (value.includes('\n')) throw new SecretError(`the secret file ${path} has more than one line: put the secret alone in it`);
  if (path !== '-' && (statSync(path).mode & 0o077) !== 0) warn(`the secret file ${path} can be read by other users: chmod 600 ${path}`);
  return value;
}

/** Asks for the secret on the terminal without echoing it; undefined when not interactive. */
export async function promptSecret(what: string): Promise<Secret | undefined> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return undefined;
  const silent = new Writable({ write: (_chunk, _enc, done) => done() });
  // the terminal stops echoing (raw mode) when the interface is made: only then ask, or a fast
  // answer to the prompt is echoed before echo is off
  const rl = createInterface({ input: process.stdin, output: silent, terminal: true });
  process.stderr.write(`secret for ${what}: `);
  try {
    const value = await new Promise<string>((resolve) => rl.question('', resolve));
    return value ? { value, from: 'the prompt' } : undefined;
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/**
 * Authenticates a connection when its device requires it (and the connection has not yet): the
 * one rule of the CLI, scripts and VS Code, each with its own source of the secret. Returns false
 * when one was needed and `secret` gave none.
 */
export async function authenticateIfRequired(client: DeviceClient, secret: () => Promise<string | undefined>): Promise<boolean> {
  if (!client.has(DeviceCap.AuthRequired) || client.has(DeviceCap.Authenticated)) return true;
  const value = await secret();
  if (!value) return false;
  await client.authenticate(value);
  return true;
}
