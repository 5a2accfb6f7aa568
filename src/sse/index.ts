/**
 * tokenflow/sse: token streams out to browsers as Server-Sent Events. `toSSE` / `pipeSSE` for one
 * stream to one client; `StreamHub` for channels with many followers that resume by
 * `Last-Event-ID`. Runs on Node and on Web-standard runtimes.
 *
 * @packageDocumentation
 */
export {
  encodeEvent,
  encodeLegacy,
  formatSSE,
  serializeError,
  HEARTBEAT,
  SSE_HEADERS,
  type LegacyAnswerOptions,
  type SSEErrorPayload,
  type SSEMessage,
  type StreamErrorHook,
  type StreamErrorReport,
} from './encode.js';
export { pipeSSE, sseResponse, toSSE, type SSEStreamOptions } from './stream.js';
export {
  StreamHub,
  type AuthorizeHook,
  type AuthorizeResult,
  type ChannelOutcome,
  type DropInfo,
  type FollowStart,
  type FollowTrace,
  type FollowerOutcome,
  type HubFetchOptions,
  type HubFormat,
  type HubFormatWriter,
  type HubHandlerOptions,
  type HubMessage,
  type HubRequest,
  type HubSubscribeOptions,
  type HubTelemetry,
  type NodeHubHandler,
  type PublishOptions,
  type PublishTrace,
  type StreamHubOptions,
  type TraceCarrier,
} from './hub.js';
export {
  InMemoryChannelLog,
  type ChannelInfo,
  type ChannelListener,
  type ChannelLog,
  type ChannelLogEntry,
  type InMemoryChannelLogOptions,
} from './channel-log.js';
export { forExpress, forFastify, forHono } from './bindings.js';
