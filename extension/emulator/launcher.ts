/**
 * Starts an emulated ESP32-P4: builds its firmware image when missing or older than its sources,
 * boots QEMU, finds the serial pty, pings until the firmware answers, and stops QEMU without
 * leaving a process behind — also when this Node process dies (QEMU watches a pipe to us).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';

import { DeviceClient } from '../device/client.js';
import { ensureFirmwareImage, type FirmwareBuildOptions } from './image.js';
import { encodeOptionsBlock, qemuArgs, type EmulatorOptions } from './qemu-args.js';
import { P4JitError } from '../util/errors.js';

export const QEMU = 'qemu-system-riscv32';

export interface StartOptions extends EmulatorOptions, FirmwareBuildOptions {
  /** Milliseconds to wait for the firmware's first answer. */
  bootTimeoutMs?: number;
}

export class EmulatorError extends P4JitError {
  override name = 'EmulatorError';
}

/** How much of the console's output an Emulator keeps (the newest characters). */
const CONSOLE_KEEP = 64 * 1024;

export class Emulator {
  private exited: Promise<void>;
  private stopping = false;
  private status: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private consoleText = '';
  private readonly consoleListeners = new Set<(text: string) => void>();

  private constructor(
    readonly port: string,
    readonly image: string,
    private readonly proc: ChildProcess,
    private readonly workDir: string,
    readonly options: EmulatorOptions,
    private readonly qemu: { pid?: number },
    private readonly stderr: () => string,
  ) {
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
      this.status = { code, signal };
      resolve();
    }));
    proc.stdout!.on('data', (d: Buffer) => {
      const text = d.toString('utf8');
      this.consoleText = (this.consoleText + text).slice(-CONSOLE_KEEP);
      for (const listener of this.consoleListeners) listener(text);
    });
  }

  /**
   * The board's console (the UART, with the virtio link): what JIT code printed for a host that
   * did not ask for OUTPUT frames (an original P4-JIT host). The newest 64 KiB.
   */
  get console(): string {
    return this.consoleText;
  }

  /** Calls listener with each piece of console output; returns the function that stops it. */
  onConsole(listener: (text: string) => void): () => void {
    this.consoleListeners.add(listener);
    return () => this.consoleListeners.delete(listener);
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Resolves when QEMU has exited, for whatever reason. */
  get whenExited(): Promise<void> {
    return this.exited;
  }

  /** stop() was called: an exit is what was asked for. */
  get stopRequested(): boolean {
    return this.stopping;
  }

  /** How QEMU ended, in words, with the last thing it said ('' while it runs). */
  get exitReason(): string {
    if (!this.status) return '';
    const { code, signal } = this.status;
    // the guard shell exits with QEMU's status, 128 + n when signal n ended it
    const sig = signal ?? (code !== null && code > 128 ? signalName(code - 128) : null);
    const how = sig ? `QEMU was killed (${sig})` : `QEMU exited with status ${code}`;
    const said = this.stderr().trim().split('\n').pop();
    return said ? `${how}: ${said}` : how;
  }

  static async start(opts: StartOptions = {}): Promise<Emulator> {
    const image = await ensureFirmwareImage(opts);
    // private (mkdtemp makes it 0700): the options block holds the secret until the firmware has read it
    const workDir = mkdtempSync(join(tmpdir(), 'p4jit-emu-'));
    const optionsFile = join(workDir, 'options.bin');
    writeFileSync(optionsFile, encodeOptionsBlock(opts), { mode: 0o600 });
    const proc = spawnQemu(workDir, qemuArgs(image, optionsFile, opts));
    let stderr = '';
    const qemu: { pid?: number } = {};
    proc.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
      const m = /^qemu-pid (\d+)\n/m.exec(stderr);
      if (m) {
        qemu.pid = Number(m[1]);
        stderr = stderr.replace(m[0], ''); // the guard's line, not QEMU's
      }
    });
    try {
      const port = await waitForPty(proc, () => stderr);
      const emu = new Emulator(port, image, proc, workDir, opts, qemu, () => stderr);
      if (!opts.gdbWait) {
        await emu.waitUntilAnswering(opts.bootTimeoutMs ?? 10000, () => stderr);
        rmSync(optionsFile, { force: true }); // read at boot (QEMU keeps the loaded copy): off the disk now
      }
      return emu;
    } catch (e) {
      killGroup(proc);
      rmSync(workDir, { recursive: true, force: true });
      throw e;
    }
  }

  /** Opens a client on the emulator's port. */
  connect(opts: ConstructorParameters<typeof DeviceClient>[1] = {}): Promise<DeviceClient> {
    return DeviceClient.open(this.port, opts);
  }

  async stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      if (this.running) {
        this.proc.kill('SIGTERM');
        const t = setTimeout(() => killGroup(this.proc), 2000);
        await this.exited;
        clearTimeout(t);
      }
      rmSync(this.workDir, { recursive: true, force: true });
    }
    await this.exited;
  }

  /** Kills QEMU abruptly, as a crash would (tests of device loss); the guard reaps it. */
  kill(): void {
    if (!this.qemu.pid) return killGroup(this.proc);
    try {
      process.kill(this.qemu.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** QEMU's own process id (the launcher runs it under a small guard shell). */
  get qemuPid(): number | undefined {
    return this.qemu.pid;
  }

  private async waitUntilAnswering(timeoutMs: number, stderr: () => string): Promise<void> {
    let client: DeviceClient | null = null;
    try {
      client = await Promise.race([
        DeviceClient.open(this.port, { connectTimeoutMs: timeoutMs }),
        this.exited.then(() => {
          throw new EmulatorError(`QEMU exited during boot: ${stderr().trim() || 'no message'}`);
        }),
      ]);
    } finally {
      await client?.close();
    }
  }
}

function spawnQemu(workDir: string, args: string[]): ChildProcess {
  // QEMU runs under a tiny shell guard that kills it when our stdin pipe closes, i.e. when this
  // Node process dies for any reason (even SIGKILL), so no emulator outlives its host; and that
  // removes the emulator's work folder whenever QEMU ends (stopped, killed, or its host gone).
  // (A background job's stdin is /dev/null unless redirected, hence fd 3.) The guard ignores
  // SIGPIPE once QEMU runs: with its host gone, the shell's "Killed" notice about QEMU would
  // otherwise end it before it removed the folder.
  const guard = [
    'exec 3<&0; dir="$1"; qemu="$2"; shift 2',
    '"$qemu" "$@" </dev/null & q=$!',
    'trap "" PIPE',
    'echo "qemu-pid $q" >&2',
    '(cat <&3 >/dev/null; kill -9 $q 2>/dev/null) & w=$!',
    'trap \'kill -9 $q 2>/dev/null; kill $w 2>/dev/null; wait $q; rm -rf "$dir"; exit 143\' TERM INT',
    'wait $q; s=$?; kill $w 2>/dev/null; rm -rf "$dir"; exit $s',
  ].join('; ');
  // its own process group, so kill() takes QEMU and the watcher down with the guard
  const proc = spawn('sh', ['-c', guard, 'qemu-guard', workDir, QEMU, ...args], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  proc.on('error', () => undefined); // reported through exit
  return proc;
}

function signalName(n: number): string {
  return Object.entries(constants.signals).find(([, v]) => v === n)?.[0] ?? `signal ${n}`;
}

function killGroup(proc: ChildProcess): void {
  try {
    if (proc.pid) process.kill(-proc.pid, 'SIGKILL');
  } catch {
    proc.kill('SIGKILL'); // already gone, or no group
  }
}

function waitForPty(proc: ChildProcess, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new EmulatorError(`QEMU did not report its serial port within 10 s: ${stderr().trim()}`)), 10000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /char device redirected to (\S+) \(label serial0\)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', onData); // what follows is the console's
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      const msg = stderr().trim();
      if (code === 127 || /not found/.test(msg)) {
        reject(new EmulatorError(`${QEMU} is not installed: run "npm run setup" or "sudo apt-get install qemu-system-misc"`));
      } else {
        reject(new EmulatorError(`QEMU exited (code ${code}) before it was ready: ${msg || 'no message'}`));
      }
    });
  });
}
