/**
 * P4-JIT's public API: `import { connect } from 'p4-jit'`.
 *
 * ```ts
 * const dev = await connect();                       // a board if one is plugged in, else the emulator
 * const fir = await dev.load('fir.c', 'fir_filter'); // compile, link at a device address, upload
 * const y = new Float32Array(x.length);
 * const r = await fir(x, y, x.length);               // y now holds the device's output
 * console.log(r.value, r.count, r.counter);          // return value, instructions (or cycles)
 * const w = await dev.buffer(weights);               // kept on the device, passed by reference
 * await dev.close();                                 // frees what it loaded, stops its emulator
 * ```
 * Everything here is stable; deeper paths are not.
 */
import { Device, type ConnectOptions } from './api/device.js';

export { Device, DeviceBuffer, type CallOptions, type CallOutcome, type ConnectOptions, type JitFunction, type LoadOptions, type LoadSourceOptions } from './api/device.js';
export type { AssembledSymbol } from '../toolchain/assembly.js';
export { CallFaultError, CallOverrunError, CallTimeoutError } from './api/errors.js';
export {
  DeviceError, DeviceRestartedError, DeviceUnresponsiveError, DisconnectedError, P4JitError, ProtocolError, TimeoutError,
} from './device/errors.js';
export { CompileError } from '../toolchain/build.js';
export { ArgumentError } from '../toolchain/args.js';
export { InputError } from '../toolchain/errors.js';
export { SignatureError } from '../toolchain/signature.js';
export type { ArgumentInput, DeviceAddress, TypedArray } from '../toolchain/value-args.js';
export type { CallResult, FaultInfo, OverrunInfo } from './session/types.js';
export type { DeviceInfo, HeapInfo } from './protocol/payloads.js';
export { describeResult, formatArray, formatValue } from './session/format.js';

/** Opens a device: `port`, the emulator (`emulator: true`), or a connected board if any, else the emulator. */
export function connect(options: ConnectOptions = {}): Promise<Device> {
  return Device.connect(options);
}
