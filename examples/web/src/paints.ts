/**
 * The page records each DOM update of the answer in `window.__paints`, so a test (or you, in the
 * console) can see the text arrive in several paints rather than all at once.
 */

/** One DOM update of the answer. */
export interface PaintRecord {
  /** `performance.now()` when the answer's DOM changed. */
  t: number;
  /** The answer's length then. */
  length: number;
  /** The page's status then (`streaming`, `done`, …). */
  status: string;
}

declare global {
  interface Window {
    __paints?: PaintRecord[];
  }
}
