/**
 * `useTokenStream`: a React hook that follows one `Observable<TokenEvent>` and keeps what a chat UI
 * shows: the text so far, a status, time to first token and tokens per second.
 *
 * A thin binding: the Observable does the work (connection, reconnects, cancellation); the hook
 * only subscribes, folds events into state, and unsubscribes.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Observable, Subscription } from 'rxjs';
import { RemoteStreamError, type TokenEvent } from 'tokenflow/client';

/** Where a stream is: nothing asked yet, arriving, finished, failed, or stopped by someone. */
export type TokenStreamStatus = 'idle' | 'streaming' | 'done' | 'error' | 'stopped';

/** What the hook keeps for the current stream. */
export interface TokenStreamState {
  /** The answer so far (cleared by a `reset` event, when an upstream retry starts over). */
  text: string;
  status: TokenStreamStatus;
  /** Text tokens received (since the last `reset`). */
  tokens: number;
  /** Milliseconds from subscribing to the first token, as this page saw it. */
  ttftMs: number | undefined;
  /** Tokens per second since the first token; defined from the second token on. */
  tokensPerSecond: number | undefined;
  /** The failure, with status `error` (or the hub's `stopped` error, with status `stopped`). */
  error: Error | undefined;
}

/** The state plus `stop()`, which unsubscribes (closing the connection) and marks the stream stopped. */
export interface TokenStream extends TokenStreamState {
  stop(): void;
}

const IDLE: TokenStreamState = { text: '', status: 'idle', tokens: 0, ttftMs: undefined, tokensPerSecond: undefined, error: undefined };

/** A stream ended by a stop (this tab's or another's): the hub's `error` with reason `stopped`. */
function isStopped(error: unknown): boolean {
  return RemoteStreamError.isInstance(error) && error.reason === 'stopped';
}

/**
 * Subscribes to `factory()` whenever `factory` changes (pass a stable function, from state or
 * `useCallback`), and unsubscribes when it changes again, on `stop()`, and on unmount.
 * `null` means no stream: the state goes back to idle.
 *
 * @example
 * const [factory, setFactory] = useState<(() => Observable<TokenEvent>) | null>(null);
 * const answer = useTokenStream(factory);
 * // on "Ask": setFactory(() => () => fromSSE(`/api/streams/${channel}`));
 * return <p>{answer.text}{answer.status === 'streaming' && '…'}</p>;
 *
 * @param factory - makes the cold stream to follow, e.g. `() => fromSSE(url)`
 * @returns the state of the stream and `stop()`
 */
export function useTokenStream(factory: (() => Observable<TokenEvent>) | null | undefined): TokenStream {
  const [state, setState] = useState<TokenStreamState>(IDLE);
  const subscription = useRef<Subscription | undefined>(undefined);

  useEffect(() => {
    if (!factory) {
      setState(IDLE);
      return undefined;
    }
    const startedAt = performance.now();
    let firstTokenAt: number | undefined;
    let tokens = 0;
    setState({ ...IDLE, status: 'streaming' });

    const sub = factory().subscribe({
      next(event) {
        if (event.type === 'token') {
          const now = performance.now();
          firstTokenAt ??= now;
          tokens++;
          const seconds = (now - firstTokenAt) / 1000;
          const ttftMs = firstTokenAt - startedAt;
          // The first token starts the clock, so the rate counts the tokens after it.
          const tokensPerSecond = tokens > 1 && seconds > 0 ? (tokens - 1) / seconds : undefined;
          setState((previous) => ({ ...previous, text: previous.text + event.text, tokens, ttftMs, tokensPerSecond }));
        } else if (event.type === 'reset') {
          // The upstream started the answer over (a retry mid-stream): what was shown is void.
          tokens = 0;
          firstTokenAt = undefined;
          setState((previous) => ({ ...previous, text: '', tokens: 0, tokensPerSecond: undefined }));
        } else if (event.type === 'done') {
          setState((previous) => ({ ...previous, status: 'done' }));
        }
      },
      error(error: unknown) {
        const asError = error instanceof Error ? error : new Error(String(error));
        setState((previous) => ({ ...previous, status: isStopped(error) ? 'stopped' : 'error', error: asError }));
      },
      complete() {
        // fromSSE completes right after `done`; a stream without `done` still ends the wait.
        setState((previous) => (previous.status === 'streaming' ? { ...previous, status: 'done' } : previous));
      },
    });
    subscription.current = sub;
    return () => {
      sub.unsubscribe();
      if (subscription.current === sub) subscription.current = undefined;
    };
  }, [factory]);

  const stop = useCallback(() => {
    const sub = subscription.current;
    if (!sub || sub.closed) return;
    sub.unsubscribe();
    subscription.current = undefined;
    setState((previous) => (previous.status === 'streaming' ? { ...previous, status: 'stopped' } : previous));
  }, []);

  return { ...state, stop };
}
