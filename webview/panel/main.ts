// Entry point of the device panel webview: receives `state` messages, renders, sends actions.
// Only the components used are imported; each registers its custom element on import.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import { render } from 'lit';
import { emptyPanelState, isExtensionMessage, type PanelState, type TaggedMessage, type WebviewMessage } from '../messages.js';
import type { SectionId, ViewContext } from './context.js';
import { panelView } from './view.js';
import './vscode-api.js';

/** What survives the webview being hidden and shown again (device data comes back from the extension). */
interface SavedState {
  closedSections: SectionId[];
}

const vscode = acquireVsCodeApi<SavedState>();
const root = document.getElementById('root') ?? document.body;

let panelState: PanelState = emptyPanelState();
const closedSections = new Set<SectionId>(vscode.getState()?.closedSections ?? []);
/** Actions sent and not yet answered by their `done`. */
const busy = new Set<string>();
let renderQueued = false;

const context: ViewContext = {
  send(message: WebviewMessage, busyKey?: string) {
    if (busyKey) {
      if (busy.has(busyKey)) return;
      busy.add(busyKey);
      // at once, not on the next frame: the control is disabled before any other input reaches it
      renderNow();
    }
    // only a TaggedMessage comes with a busy key (ViewContext's overloads)
    vscode.postMessage(busyKey ? { ...(message as TaggedMessage), action: busyKey } : message);
  },
  isBusy: (busyKey) => busy.has(busyKey),
  isOpen: (id) => !closedSections.has(id),
  setOpen(id, open) {
    if (open === !closedSections.has(id)) return;
    if (open) closedSections.delete(id);
    else closedSections.add(id);
    vscode.setState({ closedSections: [...closedSections] });
  },
};

function renderNow(): void {
  renderQueued = false;
  render(panelView(panelState, context), root);
}

/** Several states arriving within one frame (e.g. streamed output) cost a single render. */
function queueRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(renderNow);
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (!isExtensionMessage(event.data)) return;
  if (event.data.type === 'done') busy.delete(event.data.action);
  else panelState = event.data.state;
  queueRender();
});

renderNow();
vscode.postMessage({ type: 'ready' });
