/**
 * A `StreamHub` channel followed as the AI SDK's UI message stream: `uiMessageStreamHubFormat()` for
 * the hub's `formats`, so `useChat` reads (and resumes) a hub channel.
 */
import { InvalidArgumentError, RemoteStreamError } from '../errors.js';
import { readOptions } from '../operators/internal.js';
import type { ChannelInfo, HubFormat, HubFormatWriter } from '../sse/index.js';
import type { UIMessageChunk } from './chunks.js';
import { UIMessageStreamEncoder } from './encoder.js';
import { UI_MESSAGE_STREAM_HEADERS } from './response.js';

/** Options of {@link uiMessageStreamHubFormat}. */
export interface UIMessageStreamHubFormatOptions {
  /**
   * The assistant message's id for a follower of `channel` (sent on `start`).
   * @defaultValue the channel's `meta.messageId` when it is a string, else none (the client makes one up)
   */
  messageId?: (channel: ChannelInfo) => string | undefined;
  /**
   * Whether to send message metadata (usage, the exact stop reason), as in `toUIMessageStream()`.
   * @defaultValue true
   */
  metadata?: boolean;
}

/**
 * The UI message stream format for a `StreamHub`'s followers, named `ui-message-stream`: the
 * protocol's headers, one `data:` chunk per message and `data: [DONE]` at the end, each follower's
 * chunks made by the same `UIMessageStreamEncoder` as `toUIMessageStream()` from the channel's
 * stored events. `useChat`'s resume is a `GET` that replays the answer from its start, which is what
 * a follower without `Last-Event-ID` gets; its `stop()` only aborts the request, so pair it with a
 * `POST` to the hub's stop (see docs/protocols.md). A stopped channel ends with `abort`, a failed one
 * with a sanitised `error`.
 *
 * @example
 * const handle = hub.handler({ formats: [uiMessageStreamHubFormat()], format: () => 'ui-message-stream' });
 * app.get('/api/chat/:id/stream', (req, res) => handle(req, res, activeChannel.get(req.params.id)));
 *
 * @param options - `messageId` (from the channel: every follower of a channel gets the same message) and `metadata`
 * @returns a format named `ui-message-stream` for the hub's `formats`
 * @throws InvalidArgumentError for an unknown option or a bad value
 */
export function uiMessageStreamHubFormat(options: UIMessageStreamHubFormatOptions = {}): HubFormat {
  const o = readOptions(options, 'uiMessageStreamHubFormat', ['messageId', 'metadata']);
  if (o.messageId !== undefined && typeof o.messageId !== 'function') {
    throw new InvalidArgumentError('uiMessageStreamHubFormat.messageId', 'uiMessageStreamHubFormat(): messageId must be a function (channel) => string | undefined.');
  }
  if (o.metadata !== undefined && typeof o.metadata !== 'boolean') {
    throw new InvalidArgumentError('uiMessageStreamHubFormat.metadata', 'uiMessageStreamHubFormat(): metadata must be true or false.');
  }
  const messageId =
    (o.messageId as ((channel: ChannelInfo) => string | undefined) | undefined) ??
    ((channel: ChannelInfo) => (typeof channel.meta.messageId === 'string' && channel.meta.messageId !== '' ? channel.meta.messageId : undefined));
  const metadata = (o.metadata as boolean | undefined) ?? true;
  const encoderFor = (channel: ChannelInfo): UIMessageStreamEncoder => {
    const id = messageId(channel);
    return new UIMessageStreamEncoder(id === undefined ? { metadata } : { messageId: id, metadata });
  };
  return {
    name: 'ui-message-stream',
    headers: UI_MESSAGE_STREAM_HEADERS,
    open(channel): HubFormatWriter {
      const encoder = encoderFor(channel);
      return {
        event: (event, entryId) => frames(encoder.push(event), entryId, encoder.finished),
        error: (error, entryId) => frames(encoder.fail(new RemoteStreamError(error)), entryId, true),
      };
    },
    cut(channel, error, started) {
      // `error` or `abort` as a fresh message's encoder makes it; without its `start` when the
      // follower has had that already.
      const chunks = encoderFor(channel).fail(new RemoteStreamError(error));
      return frames(started ? chunks.slice(1) : chunks, undefined, true);
    },
  };
}

/** One stored event's chunks as SSE; the last carries the event's id, and the stream's end adds `[DONE]`. */
function frames(chunks: readonly UIMessageChunk[], id: number | undefined, ended: boolean): string {
  let text = '';
  chunks.forEach((chunk, i) => {
    text += i === chunks.length - 1 && id !== undefined ? `id: ${id}\ndata: ${JSON.stringify(chunk)}\n\n` : `data: ${JSON.stringify(chunk)}\n\n`;
  });
  return ended && chunks.length > 0 ? `${text}data: [DONE]\n\n` : text;
}
