/**
 * What the chat tab remembers across a reload, in `sessionStorage` (one chat per tab): the
 * server's session id, the finished turns as they were shown, and the open answer's channel with
 * the events received so far, so a reload resumes it after the last one.
 */
import type { TokenEvent } from 'tokenflow/client';
import type { TokenStreamMetrics, TokenStreamState, ToolCallActivity } from 'tokenflow/react';

/** A turn whose answer ended: what it showed, kept as it was. */
export interface FinishedTurn {
  channel: string;
  question: string;
  text: string;
  status: 'done' | 'stopped' | 'error';
  toolCalls: ToolCallActivity[];
  metrics: TokenStreamMetrics;
  /** The failure's message, for status `error`. */
  error?: string;
  /** Status `stopped`: by this tab's Stop, or by someone else (another tab). */
  stoppedBy?: 'this tab' | 'elsewhere';
  /** The server had forgotten the session (it restarted): the turns before this one are not in the model's context. */
  newContext?: boolean;
}

/** The question being answered now. */
export interface OpenTurn {
  channel: string;
  question: string;
  newContext?: boolean;
}

export interface ChatState {
  /** The server's id for this tab's conversation; none before the first question. */
  session?: string;
  turns: FinishedTurn[];
  open?: OpenTurn;
}

interface Stored extends ChatState {
  /** The open answer's events received so far. */
  events?: TokenEvent[];
}

const KEY = 'tokenflow-demo/chat';

/** The chat this tab had before a reload, and the open answer's events; an empty chat the first time. */
export function loadChat(): { chat: ChatState; events: TokenEvent[] } {
  try {
    const raw = sessionStorage.getItem(KEY);
    const stored = raw === null ? undefined : (JSON.parse(raw) as Partial<Stored>);
    if (stored && Array.isArray(stored.turns)) {
      const chat: ChatState = { turns: stored.turns };
      if (typeof stored.session === 'string') chat.session = stored.session;
      if (stored.open && typeof stored.open.channel === 'string') chat.open = stored.open;
      return { chat, events: chat.open && Array.isArray(stored.events) ? stored.events : [] };
    }
  } catch {
    // Storage off, or unreadable: start afresh.
  }
  return { chat: { turns: [] }, events: [] };
}

/** Keeps the chat (and the open answer's events) for the next load of this tab. */
export function saveChat(chat: ChatState, events: readonly TokenEvent[]): void {
  try {
    const stored: Stored = chat.open ? { ...chat, events: [...events] } : chat;
    sessionStorage.setItem(KEY, JSON.stringify(stored));
  } catch {
    // Full or disabled: a reload then starts the open answer from the beginning, which is fine.
  }
}

/**
 * The finished turn for a stream's final state.
 *
 * @param describe - the words for a failure (status `error`)
 */
export function finish(open: OpenTurn, state: TokenStreamState, stoppedHere: boolean, describe: (error: Error) => string): FinishedTurn {
  const status = state.status === 'stopped' || state.status === 'error' ? state.status : 'done';
  const turn: FinishedTurn = { channel: open.channel, question: open.question, text: state.text, status, toolCalls: state.toolCalls, metrics: state.metrics };
  if (status === 'error') turn.error = state.error ? describe(state.error) : 'The answer failed.';
  if (status === 'stopped') turn.stoppedBy = stoppedHere ? 'this tab' : 'elsewhere';
  if (open.newContext) turn.newContext = true;
  return turn;
}
