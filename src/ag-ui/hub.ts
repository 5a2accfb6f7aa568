/**
 * A `StreamHub` channel followed as an AG-UI run: `aguiHubFormat()` for the hub's `formats`.
 */
import { InvalidArgumentError, RemoteStreamError } from '../errors.js';
import { readOptions } from '../operators/internal.js';
import type { ChannelInfo, HubFormat, HubFormatWriter } from '../sse/index.js';
import { SSE_HEADERS } from '../sse/encode.js';
import { AGUIEncoder } from './encoder.js';
import type { AGUIEvent } from './types.js';

/** Options of {@link aguiHubFormat}. */
export interface AGUIHubFormatOptions {
  /**
   * The run's `threadId` for a follower of `channel`.
   * @defaultValue the channel's `meta.threadId` when it is a string, else the channel id
   */
  threadId?: (channel: ChannelInfo) => string;
  /**
   * The run's `runId`.
   * @defaultValue the channel's `meta.runId` when it is a string, else the channel id
   */
  runId?: (channel: ChannelInfo) => string;
}

/**
 * The AG-UI format for a `StreamHub`'s followers: `hub.handler({ formats: [aguiHubFormat()] })`, then
 * `GET /streams/<channel>?format=ag-ui` (or a route whose `format` option says `'ag-ui'`) reads the
 * channel as one AG-UI run over SSE, with the hub's guarantees: one upstream request however many
 * follow, resume by `Last-Event-ID`, and a stop from any follower. Each follower's run is the same
 * `AGUIEncoder` mapping as `toAGUI()`, fed the channel's stored events from the first (a resumed
 * follower's encoder is fed the events before its resume point without sending them), and each
 * event's last AG-UI message carries its channel id as the SSE `id`. A stopped or failed channel
 * ends the run with `RUN_ERROR` (sanitised, as the hub stored it).
 *
 * @example
 * const hub = new StreamHub();
 * http.createServer(hub.handler({ formats: [aguiHubFormat()] })).listen(8080);
 * // An AG-UI client: new HttpAgent({ url: `http://host:8080/streams/${channel}?format=ag-ui` })
 *
 * @param options - `threadId` and `runId`, each from the channel (every follower of a channel gets the same run)
 * @returns a format named `ag-ui` for the hub's `formats`
 * @throws InvalidArgumentError for an unknown option or one that is not a function
 */
export function aguiHubFormat(options: AGUIHubFormatOptions = {}): HubFormat {
  const o = readOptions(options, 'aguiHubFormat', ['threadId', 'runId']);
  const threadId = idOption(o.threadId, 'threadId');
  const runId = idOption(o.runId, 'runId');
  return {
    name: 'ag-ui',
    headers: SSE_HEADERS,
    open(channel): HubFormatWriter {
      const encoder = new AGUIEncoder({ threadId: threadId(channel), runId: runId(channel) });
      return {
        event: (event, id) => frames(encoder.push(event), id),
        error: (error, id) => frames(encoder.fail(new RemoteStreamError(error)), id),
      };
    },
    cut(channel, error, started) {
      // The run's RUN_ERROR, as a fresh run's encoder makes it; without its RUN_STARTED when the
      // follower has had that already.
      const events = new AGUIEncoder({ threadId: threadId(channel), runId: runId(channel) }).fail(new RemoteStreamError(error));
      return frames(started ? events.slice(1) : events, undefined);
    },
  };
}

/** The SSE text of one stored event's AG-UI events; only the last carries the event's id (a resume point). */
function frames(events: readonly AGUIEvent[], id: number | undefined): string {
  let text = '';
  events.forEach((event, i) => {
    text += i === events.length - 1 && id !== undefined ? `id: ${id}\ndata: ${JSON.stringify(event)}\n\n` : `data: ${JSON.stringify(event)}\n\n`;
  });
  return text;
}

function idOption(value: unknown, key: 'threadId' | 'runId'): (channel: ChannelInfo) => string {
  if (value === undefined) {
    return (channel) => {
      const fromMeta = channel.meta[key];
      return typeof fromMeta === 'string' && fromMeta !== '' ? fromMeta : channel.channel;
    };
  }
  if (typeof value !== 'function') {
    throw new InvalidArgumentError(`aguiHubFormat.${key}`, `aguiHubFormat(): ${key} must be a function (channel) => string.`);
  }
  return value as (channel: ChannelInfo) => string;
}
