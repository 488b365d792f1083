// What the view templates need from the page: sending actions and the page's own UI state.
import type { TaggedMessage, WebviewMessage } from '../messages.js';

export type SectionId = 'device' | 'heap' | 'allocations' | 'functions' | 'calls';

export interface ViewContext {
  /**
   * Sends an action to the extension. With a busy key, the control that sent it stays disabled
   * until the extension says this action is done, so a double click cannot send it twice and a
   * state arriving meanwhile (a poll) does not enable it early.
   */
  send(message: WebviewMessage): void;
  send(message: TaggedMessage, busyKey: string): void;
  isBusy(busyKey: string): boolean;
  isOpen(section: SectionId): boolean;
  setOpen(section: SectionId, open: boolean): void;
}
