/** The protocol's errors: bytes that do not make the frame or payload they should. The root is util's. */
import { P4JitError } from '../util/errors.js';

export { P4JitError };

/** A frame or reply payload that breaks the protocol (wrong length, bad header, bad CRC). */
export class ProtocolError extends P4JitError {
  override name = 'ProtocolError';
}
