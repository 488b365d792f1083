// The API VS Code injects into a webview (acquireVsCodeApi may be called only once per page).
import type { WebviewMessage } from '../messages.js';

export interface VsCodeApi<SavedState> {
  postMessage(message: WebviewMessage): void;
  getState(): SavedState | undefined;
  setState(state: SavedState): SavedState;
}

declare global {
  function acquireVsCodeApi<SavedState = unknown>(): VsCodeApi<SavedState>;
}
