/**
 * The one connection of the window: which device (board or emulated), its client, the JIT
 * session on it, and the emulator when we started one. Every operation that changes the device
 * (load, call, free) goes through `exclusive`, so a save-triggered reload and a run never
 * interleave their steps; requests that only read (PING, INFO, heap and allocation polls) queue in
 * the client and may come between those steps, which they cannot disturb.
 *
 * One JIT session lives as long as the window: a lost device (unplugged, reset, emulator gone)
 * is noticed at once through the client's 'disconnect' event, its functions stay listed as stale,
 * and the session continues on the next connection (JitSession.reconnect), reloading what the
 * device no longer holds when it is next run.
 */
import * as vscode from 'vscode';

import { DeviceClient } from '../device/client.js';
import { Emulator } from '../emulator/launcher.js';
import { chooseDevice } from '../connect/choose-device.js';
import { authenticateIfRequired } from '../connect/secret.js';
import type { DeviceInfo } from '../protocol/payloads.js';
import { JitSession } from '../session/jit-session.js';
import type { CallResult, LoadedFunction, SessionSettings } from '../session/types.js';
import { codeCapsBits, dataCapsBits, readConfig, storePort, type P4JitConfig } from './config.js';
import { ALWAYS_EMULATOR, askWhereToRun } from './port-picker.js';
import { resolveToolchainPath } from './toolchain.js';
import { errorMessage, P4JitError } from '../util/errors.js';

export type ConnectionState = 'disconnected' | 'connecting' | 'connected';

export const EMULATOR_LABEL = 'Emulated ESP32-P4';
const SECRET_KEY = 'p4jit.deviceSecret';

export class DeviceManager implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires on every change of connection state, loaded functions or results. */
  readonly onDidChange = this.changed.event;

  state: ConnectionState = 'disconnected';
  /** The port of the current or last device (the pty path for the emulator). */
  port: string | null = null;
  emulated = false;
  info: DeviceInfo | null = null;
  lastError: string | null = null;
  /** Counts successful connections: a new one starts a new working session for the user. */
  connectionCount = 0;

  private client: DeviceClient | undefined;
  private session: JitSession | undefined;
  private emulator: Emulator | undefined;
  private connecting: Promise<JitSession> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  /** Where the user chose to run when no board was found; not asked again until they stop the emulator. */
  private chosenPort: string | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: (line: string) => void,
  ) {}

  get connected(): boolean {
    return this.state === 'connected' && !!this.client?.connected;
  }

  /** Process id of the emulator we started (its supervising shell), for diagnostics and tests. */
  get emulatorPid(): number | undefined {
    return this.emulator?.running ? this.emulator.pid : undefined;
  }

  get hasEmulator(): boolean {
    return !!this.emulator?.running;
  }

  /** The session on the connected device, or undefined (never connects). */
  get current(): JitSession | undefined {
    return this.connected ? this.session : undefined;
  }

  /** The session whether or not its device is connected (what was loaded and called), if any yet. */
  get lastSession(): JitSession | undefined {
    return this.session;
  }

  /** Runs device work one piece at a time, in the order asked. */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** The session, connecting first when needed (to the configured port, a board, or the emulator). */
  async ensureSession(): Promise<JitSession> {
    if (this.connected && this.session) return this.session;
    this.connecting ??= this.connectConfigured().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /** Loaded functions (stale ones too, while their device is gone). */
  loadedFunctions(): LoadedFunction[] {
    return this.session?.loaded() ?? [];
  }

  history(): CallResult[] {
    return this.session?.history() ?? [];
  }

  async connect(port: string): Promise<JitSession> {
    await this.disconnect();
    if (port === 'emulator') return this.connectEmulator();
    return this.open(port, false, () => DeviceClient.open(port));
  }

  async startEmulator(): Promise<JitSession> {
    await this.disconnect();
    return this.connectEmulator();
  }

  async stopEmulator(): Promise<void> {
    if (this.emulated) await this.disconnect();
    this.chosenPort = undefined; // the next run asks again where to run
    const emu = this.emulator;
    this.emulator = undefined;
    await emu?.stop();
    this.changed.fire();
  }

  /**
   * Frees what this window loaded (so nothing leaks on a board that stays powered) and closes the
   * connection; the emulator, if any, keeps running for the next connection.
   */
  async disconnect(): Promise<void> {
    const session = this.current;
    if (session) await this.exclusive(() => session.freeAll()).catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    this.state = 'disconnected';
    this.changed.fire();
    await client?.close().catch(() => undefined);
  }

  /**
   * Settings changed: the session picks up flags, caps and limits for its next build or call.
   * (The compiler it found stays until the window reloads.)
   */
  applySettings(): void {
    if (this.session) Object.assign(this.session.settings, this.sessionSettings(readConfig(), this.session.settings.toolchainPath));
  }

  async dispose(): Promise<void> {
    await this.disconnect();
    await this.emulator?.stop();
    this.emulator = undefined;
    this.changed.dispose();
  }

  // ---- connecting ----

  private async connectConfigured(): Promise<JitSession> {
    const target = await chooseDevice({
      port: readConfig().port,
      emulatorRunning: this.hasEmulator,
      // asked before anything else of the run, in a pick that waits for the answer (never a toast)
      ask: async () => {
        this.chosenPort ??= await askWhereToRun();
        const chosen = this.chosenPort;
        if (!chosen) return undefined;
        if (chosen === ALWAYS_EMULATOR) await storePort('emulator');
        return chosen === 'emulator' || chosen === ALWAYS_EMULATOR ? { kind: 'emulator' } : { kind: 'port', port: chosen };
      },
    });
    if (!target) throw new vscode.CancellationError();
    if (target.kind === 'emulator') return this.connectEmulator();
    return this.open(target.port, false, () => DeviceClient.open(target.port));
  }

  private async connectEmulator(): Promise<JitSession> {
    if (!this.emulator?.running) {
      this.setState('connecting', null, true);
      const icount = readConfig().emulatorIcount;
      try {
        this.emulator = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `P4-JIT: starting the ${EMULATOR_LABEL}…` },
          () => Emulator.start({ icount }));
      } catch (e) {
        this.fail(e);
        throw e;
      }
      const emu = this.emulator;
      this.log(`${EMULATOR_LABEL} started on ${emu.port} (QEMU pid ${emu.pid}${icount ? ', icount' : ''})`);
      void emu.whenExited.then(() => this.onEmulatorExit(emu));
    }
    const emu = this.emulator;
    return this.open(emu.port, true, () => emu.connect());
  }

  private async open(port: string, emulated: boolean, openClient: () => Promise<DeviceClient>): Promise<JitSession> {
    this.setState('connecting', port, emulated);
    let client: DeviceClient;
    try {
      client = await openClient();
      await this.authenticate(client);
    } catch (e) {
      this.fail(e);
      throw e;
    }
    let session = this.session;
    try {
      if (session) {
        Object.assign(session.settings, this.sessionSettings(readConfig(), session.settings.toolchainPath));
        await session.reconnect(client);
      } else {
        const config = readConfig();
        const toolchainPath = await resolveToolchainPath(config.toolchainPath, this.log);
        session = new JitSession(client, this.sessionSettings(config, toolchainPath));
        session.on('changed', () => this.changed.fire());
        session.on('output', (text: string) => this.log(`[device] ${text.replace(/\n$/, '')}`));
        this.session = session;
      }
    } catch (e) {
      await client.close().catch(() => undefined);
      this.fail(e);
      throw e;
    }
    client.on('disconnect', (err: Error) => this.onDeviceLost(client, err));
    client.on('unresponsive', (err: Error) => this.onUnresponsive(client, err));
    this.client = client;
    this.info = client.info;
    this.lastError = null;
    this.connectionCount++;
    this.setState('connected', port, emulated);
    const info = client.info;
    this.log(`Connected to ${emulated ? EMULATOR_LABEL : port}${info ? `: ${info.board}, protocol ${info.protocolVersion}` : ' (a device without INFO)'}`);
    return session;
  }

  private async authenticate(client: DeviceClient): Promise<void> {
    let used: string | undefined;
    const ok = await authenticateIfRequired(client, async () => {
      used = process.env.P4JIT_SECRET ?? (await this.context.secrets.get(SECRET_KEY)) ?? await vscode.window.showInputBox({
        title: 'P4-JIT: the device requires authentication',
        prompt: 'The shared secret configured in the firmware (CONFIG_P4_JIT_AUTH_SECRET)',
        password: true,
        ignoreFocusOut: true,
      });
      return used;
    });
    if (!ok) throw new vscode.CancellationError();
    if (used) await this.context.secrets.store(SECRET_KEY, used);
  }

  private sessionSettings(config: P4JitConfig, toolchainPath: string | undefined): SessionSettings {
    const storage = this.context.storageUri ?? this.context.globalStorageUri;
    return {
      toolchainPath,
      // JIT code on the emulator may call the firmware's own functions: link against its image.
      firmwareElf: config.firmwareElf || (this.emulated ? this.emulator?.image : undefined),
      optimization: config.optimization,
      extraFlags: config.extraFlags,
      codeCaps: codeCapsBits(config.codeCaps),
      dataCaps: dataCapsBits(config.dataCaps),
      callTimeLimitMs: config.callTimeoutMs,
      linkFolderSources: config.linkFolderSources,
      buildRoot: vscode.Uri.joinPath(storage, 'build').fsPath,
    };
  }

  // ---- losing the device ----

  private onDeviceLost(client: DeviceClient, err: Error): void {
    if (client !== this.client) return;
    this.log(`Device lost: ${err.message}. Loaded functions are stale; the next run reconnects and reloads them.`);
    this.session?.markAllStale(); // (the client's own event does too; this covers an emulator that exited first)
    this.client = undefined;
    this.state = 'disconnected';
    this.lastError = err.message;
    this.changed.fire();
  }

  /**
   * The device stopped answering during a call (code that disabled interrupts and loops): only a
   * restart helps. An emulator of ours is restarted here, once the failing operation is over;
   * its functions are stale already and are reloaded on their next run.
   */
  private onUnresponsive(client: DeviceClient, err: Error): void {
    if (client !== this.client || !this.emulated || !this.emulator?.running) return;
    err.message = err.message.replace(/restart the emulated ESP32-P4$/, 'P4-JIT restarts it (loaded functions are reloaded on their next run)');
    this.log(`The ${EMULATOR_LABEL} stopped answering: restarting it.`);
    void this.stopEmulator()
      .then(() => this.startEmulator())
      .catch((e) => this.log(`Restarting the ${EMULATOR_LABEL} failed: ${errorMessage(e)}`));
  }

  private onEmulatorExit(emu: Emulator): void {
    if (emu !== this.emulator) return;
    this.emulator = undefined;
    this.log(`${EMULATOR_LABEL} exited.`);
    if (this.emulated && this.client) this.onDeviceLost(this.client, new P4JitError('the emulator exited'));
    else this.changed.fire();
  }

  private setState(state: ConnectionState, port: string | null, emulated: boolean): void {
    this.state = state;
    this.port = port;
    this.emulated = emulated;
    this.changed.fire();
  }

  private fail(e: unknown): void {
    this.state = 'disconnected';
    this.lastError = errorMessage(e);
    this.changed.fire();
  }
}
