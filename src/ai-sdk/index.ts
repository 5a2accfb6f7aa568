/**
 * `tokenflow/ai-sdk`: tokenflow streams as the Vercel AI SDK's UI message stream, the protocol
 * `useChat` from `@ai-sdk/react` reads, and `useChat`'s request messages back into tokenflow's
 * history. Needs no `ai` package at run time (see docs/protocols.md).
 *
 * @packageDocumentation
 */
export {
  type JSONObject,
  type JSONValue,
  type ResetData,
  type TokenflowPartMetadata,
  type TokenflowProviderMetadata,
  type UIFinishReason,
  type UIMessageChunk,
  type UIMessageChunkType,
  type UIMessageMetadata,
} from './chunks.js';
export { UIMessageStreamEncoder, type UIMessageStreamEncoderOptions } from './encoder.js';
export { toUIMessageStream, type UIMessageStreamOptions } from './toUIMessageStream.js';
export { pipeUIMessageStream, uiMessageStreamResponse, UI_MESSAGE_STREAM_HEADERS, type UIMessageStreamResponseOptions } from './response.js';
export { fromUIMessages, type UIMessageLike } from './messages.js';
export { uiMessageStreamHubFormat, type UIMessageStreamHubFormatOptions } from './hub.js';
