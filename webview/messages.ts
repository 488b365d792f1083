// Every message exchanged between the extension and the device panel webview, declared once.
// Both sides import this module: the extension host (Node) and the panel bundle (browser).
// It must stay free of `vscode` and DOM imports.

import type { PlotSeries } from './plot/spec.js';

// ---------------------------------------------------------------------------------------------
// State the extension pushes to the panel
// ---------------------------------------------------------------------------------------------

export type ConnectionState = 'disconnected' | 'connecting' | 'connected';

export interface FirmwareInfo {
  /** Board name from INFO, e.g. `esp32p4` or `qemu-virt`. */

  board: string;
  protocolVersion: number;
}

export interface ConnectionInfo {
  state: ConnectionState;
  /** What to show for the port, e.g. `/dev/ttyACM0`; null when none is chosen. */
  port: string | null;
  /** True when the peer is the emulated ESP32-P4 rather than a board. */
  emulated: boolean;
  /** Known once connected. */
  firmware: FirmwareInfo | null;
  /** Why the last connection attempt failed, shown in the disconnected view. */
  error?: string | null;
}

/** HEAP_INFO, in bytes. */
export interface HeapInfo {
  freeSpiram: number;
  totalSpiram: number;
  freeInternal: number;
  totalInternal: number;
}

/** Owner shown for the argument buffer the loaded functions share: only Free All releases it. */
export const ARGUMENTS_OWNER = 'arguments';

/** One live device allocation (LIST_ALLOCS), with the loaded function that owns it if any. */
export interface AllocationInfo {
  addr: number;
  size: number;
  /** ESP-IDF MALLOC_CAP_* bits. */
  caps: number;
  owner: string | null;
}

export interface LoadedFunctionInfo {
  /** The session's key (`file::name`): what the panel's actions name, unique where C names are not. */
  key: string;
  name: string;
  /** Source file path as the extension knows it. */
  file: string;
  addr: number;
  size: number;
  /** Bytes allocated for it (its allocation's size): more than `size` after a reload left room to grow. */
  allocSize?: number;
  /** The source changed since this code was loaded. */
  stale: boolean;
  /** Display string of the last call's result, null if never called. */
  lastResult: string | null;
}

export interface CallFault {
  message: string;
  /** Source location of the faulting instruction, when it could be mapped. */
  file: string | null;
  line: number | null;
}

/** An array argument read back after the call, already formatted for display. */
export interface CallArray {
  name: string;
  /** The first values, with "… N more" when there are more (all of them: the exportArray message). */
  values: string;
  /** How many values it has. */
  length: number;
  /** A numeric array longer than a few values, thinned for a small plot (min/max per bucket). */
  plot?: PlotSeries;
}

export interface CallRecord {
  /** Unique per call, used to keep list rows stable across updates. */
  id: number;
  function: string;
  /** Arguments as display strings. */
  args: string[];
  /** Display string; null when the call faulted. */
  returnValue: string | null;
  /**
   * What the device measured, each figure labelled with what it is ("1,234 instructions",
   * "850 µs wall time", "1,234 cycles"); empty when the call faulted.
   */
  measured: string[];
  /** Text the code printed during the call. */
  output: string;
  arrays: CallArray[];
  fault: CallFault | null;
  /** When the call finished, ISO 8601. */
  at: string;
}

export interface PanelState {
  connection: ConnectionInfo;
  heap: HeapInfo | null;
  allocations: AllocationInfo[];
  functions: LoadedFunctionInfo[];
  /** Most recent first. */
  calls: CallRecord[];
}

export function emptyPanelState(): PanelState {
  return {
    connection: { state: 'disconnected', port: null, emulated: false, firmware: null },
    heap: null,
    allocations: [],
    functions: [],
    calls: [],
  };
}

// ---------------------------------------------------------------------------------------------
// Extension → webview
// ---------------------------------------------------------------------------------------------

/** Sent by the extension: the whole panel state. Sent in reply to `ready` and after every change. */
export interface StateMessage {
  type: 'state';
  state: PanelState;
}

/** Sent by the extension when it has finished the action a webview message tagged `action`. */
export interface DoneMessage {
  type: 'done';
  action: string;
}

export type ExtensionMessage = StateMessage | DoneMessage;

/** Used by the webview on incoming `message` events: a cheap shape check (the extension is trusted). */
export function isExtensionMessage(value: unknown): value is ExtensionMessage {
  if (isRecord(value) && value.type === 'done') return isActionTag(value.action);
  if (!isRecord(value) || value.type !== 'state' || !isRecord(value.state)) return false;
  const s = value.state;
  return isRecord(s.connection) && Array.isArray(s.allocations) && Array.isArray(s.functions)
    && Array.isArray(s.calls) && (s.heap === null || isRecord(s.heap));
}

// ---------------------------------------------------------------------------------------------
// Webview → extension
// ---------------------------------------------------------------------------------------------

/** Sent by the webview when its script has started; the extension answers with `state`. */
export interface ReadyMessage { type: 'ready' }
/**
 * An action the webview shows as busy until the extension answers `done` with its tag: its own
 * answer, not the next state (a poll's state arrives while a run still waits for its arguments).
 */
interface Tagged { action?: string }
/** Sent by the webview: re-read heap and allocations from the device. */
export interface RefreshMessage extends Tagged { type: 'refresh' }
/** Sent by the webview: connect to a device (the extension picks board or emulator). */
export interface ConnectMessage extends Tagged { type: 'connect' }
/** Sent by the webview: FREE the allocation starting at `addr`. */
export interface FreeAllocationMessage extends Tagged { type: 'freeAllocation'; addr: number }
/** Sent by the webview: unload a loaded function (frees its allocations), named by its session key. */
export interface FreeFunctionMessage extends Tagged { type: 'freeFunction'; key: string }
/** Sent by the webview: call a loaded function again (the extension asks for arguments if needed). */
export interface RunFunctionMessage extends Tagged { type: 'runFunction'; key: string }
/** Sent by the webview: show a source location, e.g. where a call faulted. `line` is 1-based. */
export interface OpenSourceMessage { type: 'openSource'; file: string; line: number }
/** Sent by the webview: copy or save the whole of array `name` of call `call` (the extension asks how). */
export interface ExportArrayMessage { type: 'exportArray'; call: number; name: string }

/** The messages whose control shows busy until their `done`. */
export type TaggedMessage = RefreshMessage | ConnectMessage | FreeAllocationMessage | FreeFunctionMessage | RunFunctionMessage;

export type WebviewMessage =
  | ReadyMessage
  | RefreshMessage
  | ConnectMessage
  | FreeAllocationMessage
  | FreeFunctionMessage
  | RunFunctionMessage
  | OpenSourceMessage
  | ExportArrayMessage;

const C_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;
const MAX_PATH_LENGTH = 4096;

/**
 * Checks a message received from the webview and returns a fresh object holding only the known
 * fields, or undefined when it is malformed. Never act on webview messages without this.
 */
export function parseWebviewMessage(value: unknown): WebviewMessage | undefined {
  if (!isRecord(value)) return undefined;
  switch (value.type) {
    case 'ready':
      return { type: 'ready' };
    case 'refresh':
    case 'connect':
      return isOptionalTag(value.action) ? { type: value.type, ...tag(value.action) } : undefined;
    case 'freeAllocation':
      return isUint32(value.addr) && isOptionalTag(value.action)
        ? { type: 'freeAllocation', addr: value.addr >>> 0 /* -0 becomes 0 */, ...tag(value.action) }
        : undefined;
    case 'freeFunction':
    case 'runFunction':
      return isFunctionKey(value.key) && isOptionalTag(value.action) ? { type: value.type, key: value.key, ...tag(value.action) } : undefined;
    case 'openSource':
      return isSourcePath(value.file) && isLineNumber(value.line)
        ? { type: 'openSource', file: value.file, line: value.line }
        : undefined;
    case 'exportArray':
      return isUint32(value.call) && isFunctionName(value.name) ? { type: 'exportArray', call: value.call >>> 0 /* -0 becomes 0 */, name: value.name } : undefined;
    default:
      return undefined;
  }
}

/**
 * True when a well-formed message names something the panel was actually shown: an allocation
 * that is listed, a function that is loaded, a fault location that was reported. The extension
 * checks this too, so a webview can never make it free arbitrary addresses or open arbitrary files.
 */
export function targetsKnownItem(message: WebviewMessage, state: PanelState): boolean {
  switch (message.type) {
    case 'freeAllocation':
      return state.allocations.some((a) => a.addr === message.addr);
    case 'freeFunction':
    case 'runFunction':
      return state.functions.some((f) => f.key === message.key);
    case 'openSource':
      return state.calls.some((c) => c.fault?.file === message.file && c.fault.line === message.line);
    case 'exportArray':
      return state.calls.some((c) => c.id === message.call && c.arrays.some((a) => a.name === message.name));
    default:
      return true;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isUint32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff;
}

function isFunctionName(value: unknown): value is string {
  return typeof value === 'string' && C_IDENTIFIER.test(value);
}

/** A session key: a source path, `::`, a C name. */
function isFunctionKey(value: unknown): value is string {
  if (!isSourcePath(value)) return false;
  const at = value.lastIndexOf('::');
  return at > 0 && C_IDENTIFIER.test(value.slice(at + 2));
}

const MAX_TAG_LENGTH = MAX_PATH_LENGTH + 64;

function isActionTag(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_TAG_LENGTH;
}

function isOptionalTag(value: unknown): value is string | undefined {
  return value === undefined || isActionTag(value);
}

const tag = (action: string | undefined) => (action === undefined ? {} : { action });

function isSourcePath(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_PATH_LENGTH
    && !value.includes('\0');
}

function isLineNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 10_000_000;
}
