/**
 * One turn of the chat: the question, the Agent's tool calls with their results, the answer (live
 * while it streams), how it ended, and the figures the server's clock gives.
 */
import type { TokenStreamMetrics, TokenStreamStatus, ToolCallActivity } from 'tokenflow/react';

/** What a turn shows: a live stream's state, or a finished turn as it was. */
export interface TurnView {
  channel: string;
  question: string | undefined;
  text: string;
  status: TokenStreamStatus;
  toolCalls: readonly ToolCallActivity[];
  metrics: TokenStreamMetrics;
  error?: string | undefined;
  stoppedBy?: 'this tab' | 'elsewhere' | undefined;
  newContext?: boolean | undefined;
}

/** A tool's result as text: a string as it is (an error's message), anything else as JSON. */
function resultText(output: unknown): string {
  return typeof output === 'string' ? output : (JSON.stringify(output) ?? 'null');
}

function ToolCall({ call }: { call: ToolCallActivity }) {
  // A result always says whether it failed: until then the call is running.
  const running = call.isError === undefined;
  const state = running ? 'running' : call.isError ? 'error' : 'done';
  return (
    <li className="tool" data-testid="tool-call" data-state={state}>
      <div className="call">
        <span className="tool-badge">{running ? 'calling' : call.isError ? 'failed' : 'tool'}</span>
        <code data-testid="tool-input">
          {call.name}({call.input})
        </code>
        {call.durationMs !== undefined && <span className="duration">{Math.round(call.durationMs)} ms</span>}
      </div>
      <div className="result">
        <span className="arrow" aria-hidden="true">
          →
        </span>
        <span className="visually-hidden">{running ? 'is running: ' : 'returned: '}</span>
        <code data-testid="tool-result">{running ? 'running…' : resultText(call.output)}</code>
      </div>
    </li>
  );
}

/** The stopped marker's words: who stopped it, and what that means for the conversation. */
function stoppedNote(view: TurnView, chat: boolean): string {
  const who = view.stoppedBy === 'this tab' ? '' : ' in another tab';
  return chat ? `Stopped${who}. The rest was never generated, and this turn is not kept in the conversation.` : `Stopped${who}. The rest was never generated.`;
}

/**
 * @param view - what to show
 * @param chat - the asking tab (its turns are a conversation) rather than a follower
 * @param followLink - a link to follow this answer in another tab, while it streams
 */
export function Turn({ view, chat, followLink }: { view: TurnView; chat: boolean; followLink?: string | undefined }) {
  const streaming = view.status === 'streaming';
  const { ttftMs, tokensPerSecond, tokens } = view.metrics;
  return (
    <li className="turn" data-testid="turn" data-status={view.status} data-channel={view.channel}>
      {view.newContext && (
        <p className="divider" role="note">
          The server did not know this chat any more (it restarted): the turns above are not in the model's context.
        </p>
      )}
      <div className="question">
        <span className="visually-hidden">You asked: </span>
        <span data-testid="question">{view.question ?? '…'}</span>
      </div>
      <div className="reply">
        {view.toolCalls.length > 0 && (
          <ol className="tools" aria-label="Tool calls">
            {view.toolCalls.map((call, i) => (
              <ToolCall key={call.id || `${call.step}:${i}`} call={call} />
            ))}
          </ol>
        )}
        <div className="answer" aria-live="polite" aria-busy={streaming} data-testid="answer-region">
          <span className="visually-hidden">Answer: </span>
          <p className="text" data-testid="answer">
            {view.text}
          </p>
          {streaming && (
            <span className="typing" data-testid="typing" role="img" aria-label="The answer is being written">
              <i />
              <i />
              <i />
            </span>
          )}
          {view.status === 'stopped' && (
            <p className="marker" data-testid="stopped-marker">
              <span className="pill">stopped</span> {stoppedNote(view, chat)}
            </p>
          )}
          {view.status === 'error' && (
            <p className="failure" role="alert" data-testid="error">
              {view.error ?? 'The answer failed.'}
            </p>
          )}
        </div>
        <p className="figures" aria-label="Figures, from the server's clock">
          <span title="Time to first token, from the server's clock">
            first token <b data-testid="ttft">{ttftMs === undefined ? '…' : `${Math.round(ttftMs)} ms`}</b>
          </span>
          <span>
            <b data-testid="tps">{tokensPerSecond === undefined ? '…' : tokensPerSecond.toFixed(1)}</b> tok/s
          </span>
          <span>
            <b data-testid="tokens">{tokens}</b> tokens
          </span>
          {streaming && followLink && (
            <a href={followLink} target="_blank" rel="noreferrer" data-testid="follow-link">
              Follow in another tab
            </a>
          )}
        </p>
      </div>
    </li>
  );
}
