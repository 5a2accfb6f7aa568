/**
 * tokenflow: LLM token streaming as a first-class RxJS Observable.
 *
 * This entry point loads no provider SDK: adapters live in `tokenflow/anthropic`,
 * `tokenflow/openai`, `tokenflow/groq` and `tokenflow/openai-compatible`.
 *
 * @packageDocumentation
 */
export type {
  AgentResponse,
  CallOptions,
  ChatMessage,
  ChatRequest,
  DoneEvent,
  ReasoningEvent,
  ResetEvent,
  ServerTimings,
  StartEvent,
  StopReason,
  StreamMetrics,
  TokenEvent,
  TokenEventType,
  TokenStreamEvent,
  ToolCall,
  ToolCallEvent,
  ToolDefinition,
  Usage,
  UsageEvent,
} from './events.js';
export {
  CallbackError,
  ConnectionError,
  InvalidArgumentError,
  MissingApiKeyError,
  ProtocolError,
  ProviderError,
  StreamAbortedError,
  StreamTimeoutError,
  TokenflowError,
  type ProviderErrorDetails,
  type StreamErrorContext,
} from './errors.js';
export type { Provider } from './provider.js';
export { collect } from './operators/collect.js';
export { estimateTokens } from './estimate.js';
