/**
 * `useTokenStream`: a React hook that follows one `Observable<TokenEvent>` and keeps what a chat UI
 * shows: the text so far, a status, time to first token and tokens per second, and an Agent's tool
 * calls with their results as they happen (a tool loop's `tool-call` and `tool-result` events).
 *
 * A thin binding: the Observable does the work (connection, reconnects, cancellation); the hook
 * only subscribes, folds events into state, and unsubscribes.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Observable, Subscription } from 'rxjs';
import { RemoteStreamError, type TokenEvent } from 'tokenflow/client';

/** Where a stream is: nothing asked yet, arriving, finished, failed, or stopped by someone. */
export type TokenStreamStatus = 'idle' | 'streaming' | 'done' | 'error' | 'stopped';

/** One tool call of an Agent's tool loop, as the page shows it. */
export interface ToolActivity {
  /** The call's id (its `tool-result` names it). */
  id: string;
  /** The loop step that made the call. */
  step: number;
  name: string;
  /** The call's input as the model wrote it so far: JSON that fills in while its fragments arrive. */
  input: string;
  /** The tool's result as JSON, once it came. */
  output?: string;
  /** The call failed (the tool threw, or its input was invalid); `output` says why. */
  isError?: boolean;
}

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
  /** The tool calls so far, in the order they were made. */
  tools: ToolActivity[];
}

/** The state plus `stop()`, which unsubscribes (closing the connection) and marks the stream stopped. */
export interface TokenStream extends TokenStreamState {
  stop(): void;
}

const IDLE: TokenStreamState = { text: '', status: 'idle', tokens: 0, ttftMs: undefined, tokensPerSecond: undefined, error: undefined, tools: [] };

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
    // A call's fragments share its `index` within one step; only the first carries its id and name.
    let step = 0;
    const callIds = new Map<string, string>();
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
        } else if (event.type === 'step-start') {
          step = event.step;
        } else if (event.type === 'tool-call') {
          const key = `${step}:${event.index}`;
          if (event.id !== undefined && !callIds.has(key)) {
            const call: ToolActivity = { id: event.id, step, name: event.name ?? '?', input: event.argsDelta };
            callIds.set(key, event.id);
            setState((previous) => ({ ...previous, tools: [...previous.tools, call] }));
          } else if (event.argsDelta !== '') {
            const id = callIds.get(key);
            setState((previous) => ({
              ...previous,
              tools: previous.tools.map((t) => (t.id === id ? { ...t, input: t.input + event.argsDelta } : t)),
            }));
          }
        } else if (event.type === 'tool-result') {
          const output = JSON.stringify(event.output) ?? 'null';
          setState((previous) => ({
            ...previous,
            tools: previous.tools.map((t) => (t.id === event.id ? { ...t, output, isError: event.isError } : t)),
          }));
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
