/** The toolchain layer's errors (its others: CompileError, SignatureError, ArgumentError, CTypeError…). */
import { P4JitError } from '../extension/util/errors.js';

/** A value, list, generator or data file the user gave that cannot become an argument. */
export class InputError extends P4JitError {
  override name = 'InputError';
}

/** A compiler, linker or ELF result that is not what the pipeline expects. */
export class ToolchainError extends P4JitError {
  override name = 'ToolchainError';
}
