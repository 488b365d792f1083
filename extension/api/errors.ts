/** Errors a call through the public API throws: each carries the session's full record. */
import { P4JitError } from '../device/errors.js';
import type { CallResult } from '../session/types.js';

/** The function faulted (bad address, illegal instruction…): `fault` says where, in the user's source. */
export class CallFaultError extends P4JitError {
  override name = 'CallFaultError';
  readonly fault: NonNullable<CallResult['fault']>;
  constructor(readonly result: CallResult) {
    super(result.fault!.message);
    this.fault = result.fault!;
  }
}

/** The function ran past its time limit and was stopped; the device still answers. */
export class CallTimeoutError extends CallFaultError {
  override name = 'CallTimeoutError';
}

/** The function wrote outside a buffer it was given (found in the guard bytes). */
export class CallOverrunError extends P4JitError {
  override name = 'CallOverrunError';
  readonly overrun: NonNullable<CallResult['overrun']>;
  constructor(readonly result: CallResult) {
    super(result.overrun!.message);
    this.overrun = result.overrun!;
  }
}
