/**
 * The page: a chat whose answers stream in, with the Agent's tool calls and their results as they
 * happen, a Stop that stops the answer for everyone, and the figures of the server's clock.
 *
 * - `/`: this tab's chat. The server keeps its conversation (one per tab); the tab keeps what it
 *   showed in `sessionStorage`, so a reload shows the same chat and resumes an open answer.
 * - `/?channel=<id>`: a follower tab on someone's answer: their question, the same answer and
 *   the same figures, from the same single upstream request.
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent, type ReactNode } from 'react';
import { SSEResponseError } from 'tokenflow/client';
import { useTokenStream, type TokenStreamState } from 'tokenflow/react';
import { ask, fetchConfig, followFrom, questionOf, stopChannel, streamUrl, type ReceivedEvents, type ServerConfig } from './api.js';
import { finish, loadChat, saveChat, type ChatState, type OpenTurn } from './chat-store.js';
import type { PaintRecord } from './paints.js';
import { Turn, type TurnView } from './Turn.js';

/** Questions the mock knows, offered on an empty chat. */
const SUGGESTIONS = ['Why does streaming feel faster?', 'What time is it in Asia/Tokyo?', 'My name is Ada.', 'Tell me a long story.'];

export function App() {
  const channel = useMemo(() => new URLSearchParams(window.location.search).get('channel'), []);
  const [config, setConfig] = useState<ServerConfig | undefined>();
  useEffect(() => {
    let live = true;
    fetchConfig().then(
      (value) => live && setConfig(value),
      () => undefined, // the badge stays empty; asking shows the server's error if there is one
    );
    return () => {
      live = false;
    };
  }, []);
  return channel ? <FollowPage channel={channel} config={config} /> : <ChatPage config={config} />;
}

function Header({ config, children }: { config: ServerConfig | undefined; children?: ReactNode }) {
  return (
    <header className="bar">
      <h1>
        tokenflow <span className="sub">chat demo</span>
      </h1>
      {config && (
        <span className={`badge ${config.provider}`} data-testid="provider">
          {config.provider === 'mock' ? 'mock provider, no key' : `OpenAI · ${config.model}`}
        </span>
      )}
      <span className="spacer" />
      {children}
    </header>
  );
}

/**
 * Records each DOM update of the live answer in `window.__paints` (the tests check that text
 * arrives over several paints, and never shrinks or repeats). Follows the answer of `channel`.
 */
function usePaints(channel: string | undefined, status: string): void {
  const statusRef = useRef(status);
  statusRef.current = status;
  useEffect(() => {
    if (channel === undefined) return undefined;
    const element = document.querySelector(`[data-channel="${CSS.escape(channel)}"] [data-testid="answer"]`);
    if (!element) return undefined;
    window.__paints = [];
    const observer = new MutationObserver(() => {
      const paint: PaintRecord = { t: performance.now(), length: element.textContent?.length ?? 0, status: statusRef.current };
      window.__paints?.push(paint);
    });
    observer.observe(element, { characterData: true, childList: true, subtree: true });
    return () => observer.disconnect();
  }, [channel]);
}

/**
 * Keeps the newest text in view while an answer streams, unless the reader scrolled up to read
 * something else. A new question (`key`) scrolls to it again.
 */
function useScrollWithAnswer(key: string | undefined, content: unknown): void {
  const stick = useRef(true);
  useEffect(() => {
    const onScroll = () => {
      stick.current = window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 96;
    };
    window.addEventListener('scroll', onScroll, { passive: true });
    return () => window.removeEventListener('scroll', onScroll);
  }, []);
  useLayoutEffect(() => {
    stick.current = true;
  }, [key]);
  useLayoutEffect(() => {
    if (stick.current) window.scrollTo({ top: document.documentElement.scrollHeight, behavior: 'instant' });
  }, [key, content]);
}

/** A live stream's state as a turn shows it. */
function liveView(channel: string, question: string | undefined, state: TokenStreamState, stoppedHere: boolean): TurnView {
  return {
    channel,
    question,
    text: state.text,
    status: state.status,
    toolCalls: state.toolCalls,
    metrics: state.metrics,
    error: state.error ? errorMessage(state.error) : undefined,
    stoppedBy: stoppedHere ? 'this tab' : 'elsewhere',
  };
}

function errorMessage(error: Error): string {
  if (SSEResponseError.isInstance(error) && error.status === 404) return 'This answer is no longer on the server: it expired, or the link is wrong.';
  return error.message;
}

function ChatPage({ config }: { config: ServerConfig | undefined }) {
  const [initial] = useState(loadChat);
  const [chat, setChat] = useState<ChatState>(initial.chat);
  // The open answer's events so far: what a reload resumes after. Not state: no render per event.
  const received = useRef<ReceivedEvents>({ channel: initial.chat.open?.channel ?? '', events: initial.events });
  const [draft, setDraft] = useState('');
  const [sending, setSending] = useState(false);
  const [askError, setAskError] = useState<string | undefined>();
  const stoppedHere = useRef(false);
  const input = useRef<HTMLTextAreaElement>(null);

  const open = chat.open;
  // A new open turn is a new source; the same one (a re-render) keeps the subscription.
  const source = useMemo(() => {
    if (!open) return null;
    return () => {
      if (received.current.channel !== open.channel) received.current = { channel: open.channel, events: [] };
      return followFrom(received.current);
    };
  }, [open]);
  const answer = useTokenStream(source);
  const streaming = open !== undefined;
  const busy = streaming || sending;
  const status = open ? answer.status : (chat.turns.at(-1)?.status ?? 'idle');
  usePaints(open?.channel, answer.status);
  useScrollWithAnswer(open?.channel, answer);

  // An answer that ended joins the finished turns (the same element on the page: keyed by channel).
  useEffect(() => {
    if (!open || answer.status === 'streaming' || answer.status === 'idle') return;
    const turn = finish(open, answer, stoppedHere.current, errorMessage);
    setChat((previous) => {
      if (previous.open !== open) return previous;
      const { open: _answered, ...rest } = previous;
      return { ...rest, turns: [...previous.turns, turn] };
    });
  }, [open, answer]);

  // Kept for a reload: the chat whenever it changes, the open answer's events when the page goes away.
  const latest = useRef(chat);
  latest.current = chat;
  useEffect(() => saveChat(chat, received.current.events), [chat]);
  useEffect(() => {
    const save = () => saveChat(latest.current, received.current.events);
    const onVisibility = () => document.visibilityState === 'hidden' && save();
    window.addEventListener('pagehide', save);
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      window.removeEventListener('pagehide', save);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, []);

  // A button that had the focus went away (Send while asking, Stop when the answer ends): back to
  // the message box, so the keyboard user can type the next question.
  useEffect(() => {
    const active = document.activeElement;
    if (!active || active === document.body) input.current?.focus();
  }, [busy]);

  async function send(text: string, fromDraft: boolean): Promise<void> {
    const prompt = text.trim();
    if (prompt === '' || busy) return;
    setSending(true);
    setAskError(undefined);
    try {
      const { session, channel } = await ask(prompt, chat.session);
      received.current = { channel, events: [] };
      stoppedHere.current = false;
      setChat((previous) => {
        const next: OpenTurn = { channel, question: prompt };
        // A session the server had forgotten (it restarted) starts a new conversation.
        if (previous.session !== undefined && previous.session !== session && previous.turns.length > 0) next.newContext = true;
        return { ...previous, session, open: next };
      });
      if (fromDraft) setDraft('');
    } catch (error) {
      setAskError(error instanceof Error ? error.message : String(error));
    } finally {
      setSending(false);
    }
  }

  function stop(): void {
    if (!open) return;
    stoppedHere.current = true;
    // Stop showing at once; the POST stops the upstream request for every follower.
    answer.stop();
    stopChannel(open.channel);
    input.current?.focus();
  }

  function onSubmit(event: FormEvent): void {
    event.preventDefault();
    void send(draft, true);
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>): void {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      // Enter sends; Shift+Enter is a new line (the textarea's own behaviour).
      event.preventDefault();
      void send(draft, true);
    } else if (event.key === 'Escape' && streaming) {
      event.preventDefault();
      stop();
    }
  }

  function newChat(): void {
    received.current = { channel: '', events: [] };
    setChat({ turns: [] });
    setAskError(undefined);
    input.current?.focus();
  }

  const views: TurnView[] = chat.turns.map((turn) => ({ ...turn }));
  if (open) views.push({ ...liveView(open.channel, open.question, answer, stoppedHere.current), newContext: open.newContext });

  return (
    <div className="app" data-testid="app" data-status={status}>
      <Header config={config}>
        {chat.turns.length > 0 && (
          <button type="button" className="quiet" onClick={newChat} disabled={busy} data-testid="new-chat">
            New chat
          </button>
        )}
      </Header>
      <main className="transcript">
        {views.length === 0 ? (
          <section className="welcome" aria-labelledby="welcome-title">
            <h2 id="welcome-title">Ask something</h2>
            <p>
              Answers stream in token by token. Stop one halfway, reload the page while it streams, or follow it in a second tab.
              {config?.provider === 'mock' && ' With no API key, a mock model answers from a small bank of replies.'}
            </p>
            <ul className="suggestions" aria-label="Suggestions">
              {SUGGESTIONS.map((suggestion) => (
                <li key={suggestion}>
                  <button type="button" className="chip" onClick={() => void send(suggestion, false)} disabled={busy}>
                    {suggestion}
                  </button>
                </li>
              ))}
            </ul>
          </section>
        ) : (
          <ol className="turns" aria-label="Conversation">
            {views.map((view) => (
              <Turn key={view.channel} view={view} chat followLink={`?channel=${encodeURIComponent(view.channel)}`} />
            ))}
          </ol>
        )}
      </main>
      <form className="composer" onSubmit={onSubmit}>
        {askError && (
          <p className="failure" role="alert" data-testid="error">
            {askError}
          </p>
        )}
        <div className="box">
          <label htmlFor="prompt" className="visually-hidden">
            Message
          </label>
          <textarea
            id="prompt"
            ref={input}
            data-testid="prompt"
            rows={2}
            placeholder="Ask a question"
            aria-describedby="prompt-hint"
            autoFocus
            value={draft}
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={onKeyDown}
          />
          {streaming ? (
            <button type="button" className="stop" data-testid="stop" onClick={stop}>
              Stop
            </button>
          ) : (
            <button type="submit" className="send" data-testid="ask" disabled={busy || draft.trim() === ''}>
              Send
            </button>
          )}
        </div>
        <p id="prompt-hint" className="hint">
          Enter sends, Shift+Enter starts a new line{streaming ? ', Esc stops the answer' : ''}.
        </p>
      </form>
    </div>
  );
}

function FollowPage({ channel, config }: { channel: string; config: ServerConfig | undefined }) {
  // undefined: not known yet; null: the server has no such channel.
  const [question, setQuestion] = useState<string | null | undefined>();
  useEffect(() => {
    let live = true;
    questionOf(channel).then(
      (value) => live && setQuestion(value ?? null),
      () => live && setQuestion(null),
    );
    return () => {
      live = false;
    };
  }, [channel]);
  const answer = useTokenStream(streamUrl(channel));
  const stoppedHere = useRef(false);
  usePaints(channel, answer.status);

  const home = useRef<HTMLAnchorElement>(null);

  function stop(): void {
    stoppedHere.current = true;
    answer.stop();
    stopChannel(channel);
    // The Stop button goes away with the stream: keep the keyboard user's place on the page.
    home.current?.focus();
  }

  const view = liveView(channel, question === null ? '(the question is no longer on the server)' : question, answer, stoppedHere.current);
  return (
    <div className="app" data-testid="app" data-status={answer.status}>
      <Header config={config}>
        <a className="quiet" href="/" ref={home}>
          Start your own chat
        </a>
      </Header>
      <main className="transcript">
        <p className="following" data-testid="following">
          Following an answer asked in another tab: the same stream, from the same single request to the model.
        </p>
        <ol className="turns" aria-label="Followed answer">
          <Turn view={view} chat={false} />
        </ol>
      </main>
      {answer.status === 'streaming' && (
        <div className="composer">
          <div className="box end">
            <button type="button" className="stop" data-testid="stop" onClick={stop}>
              Stop for everyone
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
