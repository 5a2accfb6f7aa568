/**
 * `useTokenStream()`: follows one token stream in a React component. A thin binding: the
 * Observable does the work (connection, reconnects, cancellation); the hook subscribes, folds the
 * events into state (./fold.ts) and unsubscribes.
 *
 * Browser-safe: imports only React, rxjs and browser-safe tokenflow modules.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { isObservable, type Observable, type Subscription } from 'rxjs';
import { fromSSE } from '../client/fromSSE.js';
import type { FromSSEOptions } from '../client/options.js';
import { InvalidArgumentError } from '../errors.js';
import type { TokenEvent } from '../events.js';
import { describeValue } from '../internal/describe.js';
import { isPlainObject, rejectUnknownKeys } from '../validate.js';
import { IDLE_STATE, STARTING_STATE, TokenStreamFold, type TokenStreamState } from './fold.js';

/**
 * What {@link useTokenStream} follows:
 *
 * - an `Observable<TokenEvent>`, subscribed to as given, and again only when a different
 *   Observable is passed (keep it stable: from state, `useMemo`, or created outside the component);
 * - a function that makes one, called each time the hook subscribes (again only when a different
 *   function is passed: the function's identity is the key); if it throws, or returns something
 *   that is not an Observable, the status is `error` with that error (an `InvalidArgumentError`);
 * - a string: a channel URL, followed with `fromSSE(url, options.sse)`; the string is the key, so
 *   an inline template literal is fine; an invalid URL is status `error` with fromSSE's
 *   `InvalidArgumentError`;
 * - `null` or `undefined`: nothing; the state goes back to `idle`.
 */
export type TokenStreamSource = Observable<TokenEvent> | (() => Observable<TokenEvent>) | string | null | undefined;

/** Options of {@link useTokenStream}. */
export interface UseTokenStreamOptions {
  /**
   * Options for `fromSSE()` when the source is a URL (headers, `withCredentials`, reconnect…). Read
   * when the hook subscribes: changing them alone does not subscribe again. An invalid option is an
   * `InvalidArgumentError` in `error` (status `error`), as `fromSSE()` reports it.
   */
  sse?: FromSSEOptions;
}

/** The stream's state and `stop()`. */
export interface TokenStream extends TokenStreamState {
  /**
   * Stops following: unsubscribes (closing this page's connection, or aborting the request of a
   * provider stream) and sets the status to `stopped`, keeping the text. Does nothing once the
   * stream ended. Stopping a hub channel for everyone (the upstream request included) is the hub's
   * stop endpoint: `POST <channel URL>/stop`. Stable across renders.
   */
  stop(): void;
}

/** What the component shows, and for which source. */
interface Shown {
  key: unknown;
  state: TokenStreamState;
}

const NOTHING: Shown = { key: undefined, state: IDLE_STATE };
const KNOWN_OPTIONS = ['sse'];

/**
 * Follows a token stream and keeps what a chat UI shows: the text so far, the status, time to first
 * token and tokens per second, the tool calls of an Agent's tool loop with their results, the
 * error, and `stop()`.
 *
 *   events:  --start--tok("He")--tok("llo")--usage--done--|
 *   text:    ''-------"He"-------"Hello"-------------------
 *   status:  streaming-----------------------------------done
 *
 * - A new source (a different Observable or function, another URL, `null`) unsubscribes from the
 *   old one first; unmounting unsubscribes. React's StrictMode double effects reuse the one
 *   subscription: never two, and nothing received is lost.
 * - Figures come from the events' own `t` (see {@link TokenStreamMetrics}), so a second tab
 *   following a hub channel shows the same figures as the tab that asked.
 * - A `reset` (a retry started the answer over) clears the text; a tool loop's step reset clears
 *   only that step's text and calls.
 * - The hub's stop (a `RemoteStreamError` with reason `stopped`, from any tab or server) is status
 *   `stopped`, not `error`; the text is kept. Any other failure is status `error` with `error` set.
 * - Tokens are folded as they arrive and shown at most once per animation frame, so a burst of
 *   tokens is one render; the end of a stream (done, error, stop) is shown at once.
 *
 * Apps that want their own state shape subscribe to the Observable themselves.
 *
 * @example
 * import { useTokenStream } from 'tokenflow/react';
 *
 * function Answer({ channel }: { channel: string }) {
 *   const answer = useTokenStream(`/api/streams/${channel}`);
 *   return <p aria-live="polite">{answer.text}{answer.status === 'streaming' && '▍'}</p>;
 * }
 *
 * @param source - what to follow (see {@link TokenStreamSource})
 * @param options - see {@link UseTokenStreamOptions}
 * @returns the stream's state and `stop()`; the same object until the state changes
 * @throws InvalidArgumentError, during render, when `source` is none of the kinds above (a number,
 *   a plain object, a Promise…) or `options` is not an object of known fields
 */
export function useTokenStream(source: TokenStreamSource, options?: UseTokenStreamOptions): TokenStream {
  // Before any hook: bad input throws the same way on every render.
  checkSource(source);
  checkOptions(options);

  const [shown, setShown] = useState<Shown>(NOTHING);
  const follow = useRef<Follow | undefined>(undefined);

  useEffect(() => {
    const current = follow.current;
    // StrictMode (and Fast Refresh) run the cleanup and this effect again at once, with the same
    // source: keep the subscription rather than open a second request.
    if (current && current.key === source && current.reattach()) return () => current.detach();
    current?.dispose();
    follow.current = undefined;
    if (source === null || source === undefined) {
      setShown(NOTHING);
      return undefined;
    }
    const next = new Follow(source, (state) => setShown((previous) => (previous.key === source && previous.state === state ? previous : { key: source, state })));
    follow.current = next;
    next.start(() => open(source, options));
    return () => next.detach();
    // Only the source is the key: options are read when subscribing (see UseTokenStreamOptions).
  }, [source]);

  const stop = useCallback(() => follow.current?.stop(), []);
  // A source this component has not subscribed to yet (the effect runs after the render) shows as
  // just started, never with the previous source's text.
  const state = source === null || source === undefined ? IDLE_STATE : shown.key === source ? shown.state : STARTING_STATE;
  return useMemo(() => ({ ...state, stop }), [state, stop]);
}

/** One subscription, and how its state reaches React. */
class Follow {
  readonly #fold = new TokenStreamFold();
  readonly #publish: (state: TokenStreamState) => void;
  #subscription: Subscription | undefined;
  #cancelFrame: (() => void) | undefined;
  /** The component's effect was cleaned up; disposed in a microtask unless it runs again. */
  #detached = false;
  #disposed = false;

  constructor(
    readonly key: unknown,
    publish: (state: TokenStreamState) => void,
  ) {
    this.#publish = publish;
  }

  start(make: () => Observable<TokenEvent>): void {
    this.#publishNow();
    let source$: Observable<TokenEvent>;
    try {
      source$ = make();
    } catch (error) {
      if (this.#fold.fail(error)) this.#publishNow();
      return;
    }
    const subscription = source$.subscribe({
      next: (event) => {
        if (!this.#fold.push(event)) return;
        if (this.#fold.status === 'streaming') this.#publishSoon();
        else this.#publishNow();
      },
      error: (error: unknown) => {
        if (this.#fold.fail(error)) this.#publishNow();
      },
      complete: () => {
        if (this.#fold.complete()) this.#publishNow();
        // `done` came before: it may still wait for a frame.
        else this.#flushPending();
      },
    });
    if (this.#disposed) subscription.unsubscribe();
    else this.#subscription = subscription;
  }

  /** The effect ran again for the same source before the microtask: keep going. `false` once disposed. */
  reattach(): boolean {
    if (this.#disposed) return false;
    this.#detached = false;
    return true;
  }

  /** The effect was cleaned up: unsubscribe unless it runs again right away (StrictMode). */
  detach(): void {
    this.#detached = true;
    queueMicrotask(() => {
      if (this.#detached) this.dispose();
    });
  }

  dispose(): void {
    this.#disposed = true;
    this.#detached = false;
    this.#cancelFrame?.();
    this.#cancelFrame = undefined;
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
  }

  stop(): void {
    if (this.#disposed) return;
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
    if (this.#fold.stop()) this.#publishNow();
  }

  /** At the next animation frame, once however many events arrive before it. */
  #publishSoon(): void {
    if (this.#cancelFrame || this.#disposed) return;
    this.#cancelFrame = nextFrame(() => {
      this.#cancelFrame = undefined;
      this.#publishNow();
    });
  }

  #flushPending(): void {
    if (this.#cancelFrame) this.#publishNow();
  }

  #publishNow(): void {
    this.#cancelFrame?.();
    this.#cancelFrame = undefined;
    if (!this.#disposed) this.#publish(this.#fold.snapshot());
  }
}

/**
 * Calls `callback` before the next paint (`requestAnimationFrame`); in a hidden tab, which runs no
 * animation frames, or without a DOM, on a timer instead. Returns a cancel function.
 */
function nextFrame(callback: () => void): () => void {
  const hidden = typeof document !== 'undefined' && document.visibilityState === 'hidden';
  if (typeof requestAnimationFrame === 'function' && !hidden) {
    const id = requestAnimationFrame(() => callback());
    return () => cancelAnimationFrame(id);
  }
  const id = setTimeout(callback, 0);
  return () => clearTimeout(id);
}

/** The Observable a source stands for (called when subscribing). */
function open(source: NonNullable<TokenStreamSource>, options: UseTokenStreamOptions | undefined): Observable<TokenEvent> {
  if (typeof source === 'string') return fromSSE(source, options?.sse);
  if (isObservable(source)) return source;
  const made: unknown = source();
  if (!isObservable(made)) {
    throw new InvalidArgumentError(
      'source',
      `useTokenStream(): the source function returned ${describe(made)}; it must return an Observable<TokenEvent>, e.g. () => fromSSE(url).`,
    );
  }
  return made as Observable<TokenEvent>;
}

function checkSource(source: unknown): void {
  if (source === null || source === undefined || typeof source === 'string' || typeof source === 'function' || isObservable(source)) return;
  throw new InvalidArgumentError(
    'source',
    `useTokenStream(): source must be an Observable<TokenEvent>, a function returning one, a channel URL string, or null; got ${describe(source)}.`,
  );
}

function checkOptions(options: unknown): void {
  if (options === undefined) return;
  if (!isPlainObject(options)) {
    throw new InvalidArgumentError('options', `useTokenStream(): options must be an object like { sse: { withCredentials: true } }, got ${describe(options)}.`);
  }
  rejectUnknownKeys(options, KNOWN_OPTIONS, 'options');
  if (options.sse !== undefined && !isPlainObject(options.sse)) {
    throw new InvalidArgumentError('options.sse', `useTokenStream(): options.sse must be fromSSE()'s options object, got ${describe(options.sse)}.`);
  }
}

/** `describeValue`, naming the class of an object that is not a plain one (`a Promise`). */
function describe(value: unknown): string {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !isPlainObject(value)) {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string' && name !== '') return `an object of class ${name}`;
  }
  return describeValue(value);
}
