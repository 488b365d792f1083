/**
 * The root of P4-JIT's errors: every error the host library throws is a P4JitError (a lint rule
 * keeps `new Error` out of it), so a caller tells ours from a bug in their own code with one
 * `instanceof`, and each kind keeps its own name (CompileError, ArgumentError, DisconnectedError…).
 */
// eslint-disable-next-line no-restricted-syntax -- the root itself
export class P4JitError extends Error {
  override name = 'P4JitError';
}

/** What to show for anything thrown: an error's message, or the value itself. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
