// What the view templates need from the page: sending actions and the page's own UI state.
import type { WebviewMessage } from '../messages.js';

export type SectionId = 'device' | 'heap' | 'allocations' | 'functions' | 'calls';

export interface ViewContext {
  /**
   * Sends an action to the extension. With a busy key, the control that sent it stays disabled
   * until the next state arrives, so a double click cannot send the same action twice.
   */
  send(message: WebviewMessage, busyKey?: string): void;
  isBusy(busyKey: string): boolean;
  isOpen(section: SectionId): boolean;
  setOpen(section: SectionId, open: boolean): void;
}
