// Starts and stops a code-server (a real VS Code server with its Node extension host) for one test
// run. Pure Node: no playwright, no vscode.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the first folder above this file holding a package.json (works from out/ too). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

/** Runs the (idempotent) installer and returns the path of code-server's entry script. */
export async function ensureCodeServer(cacheDir: string, signal?: AbortSignal): Promise<string> {
  const script = join(repoRoot(), 'scripts', 'vscode-test', 'install-code-server.sh');
  const child = spawn('bash', [script], {
    env: { ...process.env, VSCODE_TEST_CACHE: cacheDir },
    stdio: ['ignore', 'pipe', 'inherit'], // progress (stderr) goes straight to the user
    signal,
  });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const code = await new Promise<number | null>((res) => {
    child.on('close', res);
    child.on('error', () => res(null)); // aborted
  });
  const entry = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !existsSync(entry)) throw new Error(`installing code-server failed (exit ${code})`);
  return entry;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => res(port));
    });
  });
}

export interface CodeServerOptions {
  entry: string;          // code-server's out/node/entry.js
  stateDir: string;       // per-run folder: user data, config, temp, XDG homes
  extensionsDir: string;  // installed extensions (shared between runs)
  workspace: string;      // folder to open
  logFile: string;        // code-server's stdout + stderr
  env?: Record<string, string>; // extra environment (inherited by the extension host)
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

export class CodeServer {
  private exited = false;
  /** Settles when the code-server process ends (expectedly or not). */
  readonly ended: Promise<void>;

  private constructor(readonly url: string, readonly port: number, private readonly child: ChildProcess, private readonly logFile: string) {
    this.ended = new Promise((res) => child.once('exit', () => {
      this.exited = true;
      res();
    }));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Spawns code-server and returns at once (so a caller can always stop() it); then await ready(). */
  static async launch(opts: CodeServerOptions): Promise<CodeServer> {
    const port = await freePort();
    const dir = (name: string) => {
      const path = join(opts.stateDir, name);
      mkdirSync(path, { recursive: true });
      return path;
    };
    const userData = dir('user-data');
    mkdirSync(opts.extensionsDir, { recursive: true });
    mkdirSync(dirname(opts.logFile), { recursive: true });
    const config = join(opts.stateDir, 'config.yaml');
    writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
    // Settings that keep a test run quiet and deterministic.
    mkdirSync(join(userData, 'User'), { recursive: true });
    writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify({
      'security.workspace.trust.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'git.enabled': false,
    }, null, 2));

    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      // Variables of a surrounding VS Code (when run from its terminal) would confuse the server.
      if (value !== undefined && !/^(VSCODE_|ELECTRON_)/.test(key)) env[key] = value;
    }
    Object.assign(env, {
      TMPDIR: dir('tmp'),
      XDG_CONFIG_HOME: dir('xdg/config'),
      XDG_DATA_HOME: dir('xdg/data'),
      XDG_CACHE_HOME: dir('xdg/cache'),
      // No extension gallery: nothing to query (offline) and no start-up lookups to wait for.
      EXTENSIONS_GALLERY: '{}',
      ...opts.env,
    });

    const log = openSync(opts.logFile, 'w');
    // detached = setsid: code-server and everything it starts (extension host, file watchers)
    // share one process group that stop() kills as a whole.
    const child = spawn(process.execPath, [
      opts.entry, '--config', config, '--user-data-dir', userData, '--extensions-dir', opts.extensionsDir,
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
      '--disable-getting-started-override', resolve(opts.workspace),
    ], { detached: true, stdio: ['ignore', log, log], env });
    closeSync(log);
    return new CodeServer(`http://127.0.0.1:${port}`, port, child, opts.logFile);
  }

  /** Polls /healthz until the server answers. */
  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`code-server exited during start-up; log:\n${readFileSync(this.logFile, 'utf8')}`);
      try {
        const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    throw new Error(`code-server did not answer /healthz within ${timeoutMs} ms (log: ${this.logFile})`);
  }

  /**
   * The authority the workbench uses for vscode-remote:// URIs, read from the configuration the
   * server embeds in the workbench page.
   */
  async remoteAuthority(): Promise<string> {
    const html = await (await fetch(`${this.url}/`)).text();
    const match = /id="vscode-workbench-web-configuration"\s+data-settings="([^"]*)"/.exec(html);
    if (!match) return `127.0.0.1:${this.port}`;
    const json = match[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&');
    return (JSON.parse(json) as { remoteAuthority?: string }).remoteAuthority ?? `127.0.0.1:${this.port}`;
  }

  /** Kills the whole process group; safe to call twice. */
  async stop(): Promise<void> {
    killGroup(this.pid, 'SIGTERM');
    for (let i = 0; i < 20 && groupAlive(this.pid); i++) await sleep(100);
    if (groupAlive(this.pid)) killGroup(this.pid, 'SIGKILL');
    for (let i = 0; i < 20 && groupAlive(this.pid); i++) await sleep(100);
  }

  /** Synchronous last resort for process 'exit' handlers. */
  killNow(): void {
    killGroup(this.pid, 'SIGKILL');
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // group already gone
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
