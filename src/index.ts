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
  AssistantContentPart,
  AssistantMessage,
  CallOptions,
  ChatMessage,
  ChatRequest,
  CitationEvent,
  DocumentPart,
  DoneEvent,
  ImageMediaType,
  ImagePart,
  InterTokenGaps,
  MessagePart,
  OutputSpec,
  ProviderToolCall,
  ProviderToolEvent,
  ProviderToolPart,
  ReasoningBlock,
  ReasoningEvent,
  ReasoningPart,
  ResetEvent,
  ServerTimings,
  StartEvent,
  StepFinishEvent,
  StepStartEvent,
  StopReason,
  StreamMetrics,
  SystemMessage,
  TextPart,
  TokenEvent,
  TokenEventType,
  TokenStreamEvent,
  ToolCall,
  ToolCallEvent,
  ToolCallPart,
  ToolDefinition,
  ToolMessage,
  ToolResult,
  ToolResultEvent,
  ToolResultPart,
  Usage,
  UsageEvent,
  UserContentPart,
  UserMessage,
} from './events.js';
export {
  CallbackError,
  ConnectionError,
  InvalidArgumentError,
  MissingApiKeyError,
  MissingDependencyError,
  ProtocolError,
  ProviderError,
  QueueOverflowError,
  RemoteStreamError,
  ChannelNotFoundError,
  SSEResponseError,
  StreamAbortedError,
  StreamTimeoutError,
  TokenflowError,
  ToolExecutionError,
  ValidationError,
  type ToolFailure,
  type ValidationFailure,
  type ProviderErrorDetails,
  type RemoteStreamReason,
  type SerializedStreamError,
  type StreamErrorContext,
} from './errors.js';
export type { Provider } from './provider.js';
export { collect } from './operators/collect.js';
export { estimateTokens, loadTokenizer } from './estimate.js';
export { text } from './operators/text.js';
export { deltas } from './operators/deltas.js';
export { usage } from './operators/usage.js';
export { metrics } from './operators/metrics.js';
export { progress } from './operators/progress.js';
export { timeToFirstToken } from './operators/timeToFirstToken.js';
export { firstTokenTimeout, type TimeoutOptions } from './operators/firstTokenTimeout.js';
export { idleTimeout } from './operators/idleTimeout.js';
export { retryBeforeFirstToken } from './operators/retryBeforeFirstToken.js';
export { retryMidStream } from './operators/retryMidStream.js';
export { isRetryable, type BackoffOptions, type RetryOptions } from './operators/retry-core.js';
export { smooth, type SmoothOptions } from './operators/smooth.js';
export { partialObject, type DeepPartial, type PartialObjectOptions } from './operators/partialObject.js';
export { object } from './operators/object.js';
export { toolInputs, type ToolInput, type ToolInputUpdate, type ToolInputsReset } from './operators/toolInputs.js';
export { streamWithCallbacks, type StreamCallbacks } from './bridge/streamWithCallbacks.js';
export { toAsyncIterable, type AsyncIterableOptions } from './bridge/toAsyncIterable.js';
export {
  Agent,
  type AgentContext,
  type AgentOptions,
  type MessageOptions,
  type StreamingMessageOptions,
  type ToolLoopOptions,
} from './agent/agent.js';
export type { ToolApprovalRequest, ToolErrorMode } from './agent/loop.js';
export {
  tool,
  type JSONSchema7Like,
  type Tool,
  type ToolExecutionContext,
  type ToolSet,
} from './agent/tools.js';
export { Conversation, type ConversationOptions } from './agent/conversation.js';
export { InMemoryHistoryStore, type HistoryStore } from './agent/history-store.js';
