/**
 * Ctrl+C (SIGINT) and SIGTERM for the CLI: the first one stops the command at its next safe point
 * (a running call ends at its time limit), lets it free what it allocated and end an authenticated
 * session, and exits 130 or 143 within a bounded time; a second one exits at once.
 */
import { P4JitError } from '../util/errors.js';

export const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

/** What stopped the command (an AbortSignal's reason). */
export class InterruptedError extends P4JitError {
  override name = 'InterruptedError';
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted (${signal})`);
  }
}

export class Interrupts {
  private readonly controller = new AbortController();
  private received: 'SIGINT' | 'SIGTERM' | null = null;
  private readonly handler = (sig: NodeJS.Signals) => this.onSignal(sig as 'SIGINT' | 'SIGTERM');
  private forceTimer: NodeJS.Timeout | undefined;

  /**
   * @param whatNow what the command is doing, for the first message, and how long it may still
   *   take to stop cleanly (ms): past that the process exits anyway.
   */
  constructor(private readonly whatNow: () => { doing: string; graceMs: number }) {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The exit status for the signal received, or null. */
  get exitCode(): number | null {
    return this.received ? SIGNAL_EXIT[this.received] : null;
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
    clearTimeout(this.forceTimer);
  }

  private onSignal(sig: 'SIGINT' | 'SIGTERM'): void {
    if (this.received) {
      console.error(`p4jit: ${sig} again: exiting at once (what this run allocated may stay on the device: p4jit free --all)`);
      process.exit(SIGNAL_EXIT[this.received]);
    }
    this.received = sig;
    const { doing, graceMs } = this.whatNow();
    console.error(`p4jit: interrupted (${sig}): ${doing}, then freeing what this run allocated (Ctrl+C again to quit at once)`);
    this.forceTimer = setTimeout(() => {
      console.error(`p4jit: not stopped within ${graceMs} ms: exiting (what this run allocated may stay on the device: p4jit free --all)`);
      process.exit(SIGNAL_EXIT[sig]);
    }, graceMs);
    this.forceTimer.unref();
    this.controller.abort(new InterruptedError(sig));
  }
}
