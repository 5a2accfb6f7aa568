/**
 * The page: a prompt, Ask and Stop, the Agent's tool calls and their results as they happen, and the
 * answer growing as it streams, with live time to first token and tokens per second. `?channel=<id>` follows a stream someone else started (another tab).
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { Observable } from 'rxjs';
import { fromSSE, type TokenEvent } from 'tokenflow/client';
import type { PaintRecord } from './paints.js';
import { useTokenStream } from './useTokenStream.js';

type Factory = () => Observable<TokenEvent>;

const streamUrl = (channel: string) => `/api/streams/${encodeURIComponent(channel)}`;
const follow = (channel: string): Factory => () => fromSSE(streamUrl(channel));

function channelFromLocation(): string | undefined {
  return new URLSearchParams(window.location.search).get('channel') ?? undefined;
}

export function App() {
  const [prompt, setPrompt] = useState('Why does streaming make a chat feel faster?');
  const [channel, setChannel] = useState<string | undefined>(channelFromLocation);
  // The factory is state, so a new channel means a new subscription (and the old one ends).
  const [factory, setFactory] = useState<Factory | null>(() => {
    const initial = channelFromLocation();
    return initial ? follow(initial) : null;
  });
  const [askError, setAskError] = useState<string | undefined>();
  const answer = useTokenStream(factory);
  const answerRef = useRef<HTMLParagraphElement>(null);
  const statusRef = useRef(answer.status);
  statusRef.current = answer.status;

  // Record every DOM update of the answer: the tests check that text arrives in several paints.
  useEffect(() => {
    const element = answerRef.current;
    if (!element) return undefined;
    window.__paints = [];
    const observer = new MutationObserver(() => {
      const paint: PaintRecord = { t: performance.now(), length: element.textContent?.length ?? 0, status: statusRef.current };
      window.__paints?.push(paint);
    });
    observer.observe(element, { characterData: true, childList: true, subtree: true });
    return () => observer.disconnect();
  }, [factory]);

  const busy = answer.status === 'streaming';

  async function ask(event: FormEvent) {
    event.preventDefault();
    setAskError(undefined);
    try {
      const response = await fetch('/api/ask', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt }),
      });
      if (!response.ok) throw new Error(`ask failed: ${response.status} ${await response.text()}`);
      const { channel: next } = (await response.json()) as { channel: string };
      setChannel(next);
      setFactory(() => follow(next));
      // A link to this answer: open it in another tab to follow the same stream.
      window.history.replaceState(null, '', `?channel=${encodeURIComponent(next)}`);
    } catch (error) {
      setAskError(error instanceof Error ? error.message : String(error));
    }
  }

  function stop() {
    // Stop showing at once; the POST stops the upstream request for every follower.
    answer.stop();
    if (channel) void fetch(`${streamUrl(channel)}/stop`, { method: 'POST' }).catch(() => undefined);
  }

  return (
    <main data-status={answer.status} data-testid="app">
      <h1>tokenflow</h1>
      <form onSubmit={ask}>
        <textarea
          aria-label="Prompt"
          data-testid="prompt"
          rows={3}
          value={prompt}
          onChange={(event) => setPrompt(event.target.value)}
        />
        <div className="actions">
          <button type="submit" data-testid="ask" disabled={busy || prompt.trim() === ''}>
            Ask
          </button>
          <button type="button" data-testid="stop" disabled={!busy} onClick={stop}>
            Stop
          </button>
          {channel && (
            <a href={`?channel=${encodeURIComponent(channel)}`} target="_blank" rel="noreferrer">
              follow in another tab
            </a>
          )}
        </div>
      </form>

      {answer.tools.length > 0 && (
        <ol className="tools" data-testid="tools" aria-label="Tool calls">
          {answer.tools.map((call) => (
            <li key={call.id} data-testid="tool-call" data-state={call.output === undefined ? 'running' : call.isError ? 'error' : 'done'}>
              <code data-testid="tool-input">
                {call.name}({call.input})
              </code>
              <span className="arrow">→</span>
              <code data-testid="tool-result">{call.output ?? 'running…'}</code>
            </li>
          ))}
        </ol>
      )}

      <section className="answer" aria-live="polite" aria-busy={busy}>
        <p ref={answerRef} data-testid="answer">
          {answer.text}
        </p>
        {busy && (
          <span className="typing" data-testid="typing" aria-label="The answer is being written">
            <i />
            <i />
            <i />
          </span>
        )}
      </section>

      <dl className="metrics">
        <dt>status</dt>
        <dd data-testid="status">{answer.status}</dd>
        <dt>time to first token</dt>
        <dd data-testid="ttft">{answer.ttftMs === undefined ? '…' : `${Math.round(answer.ttftMs)} ms`}</dd>
        <dt>tokens/s</dt>
        <dd data-testid="tps">{answer.tokensPerSecond === undefined ? '…' : answer.tokensPerSecond.toFixed(1)}</dd>
        <dt>tokens</dt>
        <dd data-testid="tokens">{answer.tokens}</dd>
      </dl>
      {(askError ?? (answer.status === 'error' ? answer.error?.message : undefined)) && (
        <p className="error" role="alert" data-testid="error">
          {askError ?? answer.error?.message}
        </p>
      )}
    </main>
  );
}
