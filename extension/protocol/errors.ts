/** The root of P4-JIT's errors, and the protocol's own: bytes that do not make the frame or payload they should. */
export class P4JitError extends Error {
  override name = 'P4JitError';
}

/** A frame or reply payload that breaks the protocol (wrong length, bad header, bad CRC). */
export class ProtocolError extends P4JitError {
  override name = 'ProtocolError';
}
