/**
 * What the useChat test page (./main.ts) exposes as `window.chatHarness`, for
 * test/browser/use-chat.test.ts to read with `page.evaluate`. Types only.
 */

/** One commit of the chat component. */
export interface RenderRecord {
  /** `useChat`'s status at that commit. */
  status: string;
  /** The text parts of the last assistant message, joined (`''` when there is none). */
  text: string;
}

export interface ChatHarness {
  /** The chat id, from the page's `?chat=` parameter (so it survives a reload). */
  readonly chatId: string;
  /**
   * How `useChat`'s resume on load went: `pending` until its `GET /api/chat/<id>/stream` answered,
   * then `none` (204, nothing in progress; `useChat` has settled back to `ready` by then) or
   * `resumed` (an answer in progress is being replayed).
   */
  resume: 'pending' | 'none' | 'resumed';
  /** Every commit of the chat component, in order. */
  readonly renders: RenderRecord[];
}

declare global {
  interface Window {
    chatHarness?: ChatHarness;
  }
}
