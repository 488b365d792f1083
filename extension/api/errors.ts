/** Errors a call through the public API throws: each carries the session's full record. */
import { P4JitError } from '../device/errors.js';
import type { CallResult } from '../session/types.js';

/** A call that ran and ended badly; `result` is its full record. */
abstract class CallError extends P4JitError {
  constructor(readonly result: CallResult, message: string) {
    super(message);
  }
}

/** The function faulted (bad address, illegal instruction…): `fault` says where, in the user's source. */
export class CallFaultError extends CallError {
  override name = 'CallFaultError';
  readonly fault: NonNullable<CallResult['fault']>;
  constructor(result: CallResult) {
    super(result, result.fault!.message);
    this.fault = result.fault!;
  }
}

/** The function ran past its time limit and was stopped; the device still answers. */
export class CallTimeoutError extends CallFaultError {
  override name = 'CallTimeoutError';
}

/** The function wrote outside a buffer it was given (found in the guard bytes). */
export class CallOverrunError extends CallError {
  override name = 'CallOverrunError';
  readonly overrun: NonNullable<CallResult['overrun']>;
  constructor(result: CallResult) {
    super(result, result.overrun!.message);
    this.overrun = result.overrun!;
  }
}
