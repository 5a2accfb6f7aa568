/**
 * What the useTokenStream test page (./main.ts) exposes as `window.harness`, for
 * test/browser/react.test.ts to drive it with `page.evaluate`. Types only.
 */
import type { TokenEvent } from '../../../src/events.js';

/** What the page passes to `useTokenStream()`; each call of `mount`/`setSource` makes a new source. */
export type SourceSpec =
  | { kind: 'none' }
  /** The URL string itself. */
  | { kind: 'url'; url: string }
  /** `fromSSE(url)`, passed as an Observable (its subscriptions counted). */
  | { kind: 'observable'; url: string }
  /** `() => fromSSE(url)` (its calls and subscriptions counted). */
  | { kind: 'factory'; url: string }
  /** A page-local Subject the test drives with `push`, `pushEach` and `end`. */
  | { kind: 'subject' }
  /** Bad input: the hook must throw, and the page's error boundary shows the error. */
  | { kind: 'bad'; value: 'number' | 'object' | 'promise' };

/** One commit of the component showing the stream. */
export interface CommitRecord {
  /** The source the component was rendered with (its spec, as JSON). */
  source: string;
  text: string;
  status: string;
}

/** How the page ends its Subject. */
export type SubjectEnd = { kind: 'complete' } | { kind: 'error'; message: string } | { kind: 'hub-stop'; partialText: string };

export interface Harness {
  /** Renders the component in a new root (in `<StrictMode>` when `strict`). */
  mount(spec: SourceSpec, options?: { strict?: boolean }): void;
  /** Renders the same component with a new source. */
  setSource(spec: SourceSpec): void;
  unmount(): void;
  /** Once the hook has subscribed to the current Subject, emits the events into it, all in one task. */
  push(events: TokenEvent[]): Promise<void>;
  /** Once the hook has subscribed, emits each event in a task of its own; resolves to the animation frames that ran meanwhile. */
  pushEach(events: TokenEvent[]): Promise<{ frames: number }>;
  end(how: SubjectEnd): void;
  /** Subscriptions made to (and ended on) Observable and factory sources, and factory calls. */
  readonly counts: { subscribed: number; unsubscribed: number; factoryCalls: number; probeEffects: number };
  /** The same, in order: `subscribe <kind>`, `unsubscribe <kind>`, `call factory`. */
  readonly log: string[];
  /** Every commit of the stream component, in order. */
  readonly commits: CommitRecord[];
}

declare global {
  interface Window {
    harness?: Harness;
  }
}
