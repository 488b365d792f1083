/**
 * Numbers of the P4-JIT wire protocol, mirrored from firmware/components/p4_jit/core/jit_protocol.h
 * (docs/protocol.md explains each one).
 */

export const MAGIC0 = 0xa5;
export const MAGIC1 = 0x5a;
export const HEADER_SIZE = 8;
export const CHECKSUM_SIZE = 2;
export const PROTOCOL_VERSION = 2;
/** SEALED payload: inner command, sequence byte, two zero bytes ... CRC-32. */
export const SEAL_HEADER_SIZE = 4;
export const SEAL_CRC_SIZE = 4;
export const SEAL_OVERHEAD = SEAL_HEADER_SIZE + SEAL_CRC_SIZE;
/** SESSION payload: inner command, sequence byte, two zero bytes, counter u32 ... a 16-byte MAC. */
export const SESSION_HEADER_SIZE = 8;
export const SESSION_TAG_SIZE = 16;
export const SESSION_OVERHEAD = SESSION_HEADER_SIZE + SESSION_TAG_SIZE;
/** The host's nonce that may follow AUTH_RESPONSE's MAC (it goes into the session key). */
export const HOST_NONCE_SIZE = 16;

export const Flag = { Request: 0x00, Ok: 0x01, Error: 0x02 } as const;

export const Cmd = {
  Ping: 0x01,
  Info: 0x02,
  Features: 0x03,
  Alloc: 0x10,
  Free: 0x11,
  WriteMem: 0x20,
  ReadMem: 0x21,
  Exec: 0x30,
  Call: 0x31,
  LastFault: 0x32,
  HeapInfo: 0x40,
  ListAllocs: 0x41,
  Output: 0x50,
  AuthChallenge: 0x60,
  AuthResponse: 0x61,
  AuthEnd: 0x62,
  Sealed: 0x70,
  Session: 0x71,
} as const;

export const Err = {
  OK: 0,
  CHECKSUM: 1,
  UNKNOWN_CMD: 2,
  ALLOC_FAIL: 3,
  NOT_ALLOCATED: 4,
  BAD_LENGTH: 5,
  PAYLOAD_TOO_LARGE: 6,
  BUSY: 7,
  FAULT: 8,
  TIMEOUT: 9,
  NOT_AUTHENTICATED: 10,
  TABLE_FULL: 11,
  BAD_ALIGN: 12,
  NOT_EXECUTABLE: 13,
  LIMIT_BYTES: 14,
  AUTH_FAILED: 15,
  RATE_LIMITED: 16,
  BAD_ARGUMENT: 17,
  OVERRUN: 18,
} as const;

const ERR_TEXT: Record<number, string> = {
  [Err.CHECKSUM]: 'the device saw a checksum mismatch',
  [Err.UNKNOWN_CMD]: 'the device does not know this command',
  [Err.ALLOC_FAIL]: 'no memory region with the requested capabilities has room',
  [Err.NOT_ALLOCATED]: 'the address range is not inside one live allocation',
  [Err.BAD_LENGTH]: 'the request payload has the wrong length',
  [Err.PAYLOAD_TOO_LARGE]: 'the frame is larger than the device buffer',
  [Err.BUSY]: 'the device is busy',
  [Err.FAULT]: 'the JIT code faulted',
  [Err.TIMEOUT]: 'the JIT code exceeded its time limit',
  [Err.NOT_AUTHENTICATED]: 'the device requires authentication',
  [Err.TABLE_FULL]: 'the device allocation table is full',
  [Err.BAD_ALIGN]: 'the alignment is not a power of two up to 4096',
  [Err.NOT_EXECUTABLE]: 'the address is not in an executable allocation',
  [Err.LIMIT_BYTES]: 'the device limit on allocated bytes would be exceeded',
  [Err.AUTH_FAILED]: 'authentication failed: wrong secret',
  [Err.RATE_LIMITED]: 'too many failed authentication attempts; wait and retry',
  [Err.BAD_ARGUMENT]: 'a request field is out of range',
  [Err.OVERRUN]: 'the JIT code wrote outside an allocation (over its guard bytes)',
};

export function errName(code: number): string {
  return Object.entries(Err).find(([, v]) => v === code)?.[0] ?? `ERROR_${code}`;
}

export function errText(code: number): string {
  return ERR_TEXT[code] ?? `device error ${code}`;
}

export function cmdName(cmd: number): string {
  const name = Object.entries(Cmd).find(([, v]) => v === cmd)?.[0];
  return name ? name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() : `0x${cmd.toString(16).padStart(2, '0')}`;
}

/** ESP-IDF heap capability bits (esp_heap_caps.h). */
export const MallocCap = {
  EXEC: 1 << 0,
  '32BIT': 1 << 1,
  '8BIT': 1 << 2,
  DMA: 1 << 3,
  SPIRAM: 1 << 10,
  INTERNAL: 1 << 11,
  DEFAULT: 1 << 12,
} as const;

/** The MALLOC_CAP_* bits as jit_protocol.h lists them (checked against it by test/unit/protocol-header.test.ts). */
export function capsNames(caps: number): string[] {
  return Object.entries(MallocCap).filter(([, bit]) => (caps & bit) !== 0).map(([name]) => name);
}

/** INFO capability bits. */
export const DeviceCap = {
  Call: 1 << 0,
  ListAllocs: 1 << 1,
  Output: 1 << 2,
  FaultRecovery: 1 << 3,
  AuthRequired: 1 << 4,
  Authenticated: 1 << 5,
  ICount: 1 << 6,
  Emulator: 1 << 7,
  Sealed: 1 << 8,
  /** The device answers with the seed's frames only until the host asks for more (FEATURES). */
  Features: 1 << 9,
  /** Once authenticated, protected requests come only in SESSION frames MACed with the session key. */
  Session: 1 << 10,
} as const;

/** FEATURES bits: extended replies a host asks for (every P4-JIT host asks for all). */
export const Feature = {
  /** OUTPUT frames of a call (else the device's console gets what the code prints). */
  Output: 1 << 0,
  /** FAULT and TIMEOUT error replies carry their detail words (else the code alone). */
  ErrorDetail: 1 << 1,
} as const;
export const ALL_FEATURES = Feature.Output | Feature.ErrorDetail;
