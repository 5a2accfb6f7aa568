/**
 * The parts of the AI SDK's UI message stream that tokenflow writes, declared structurally so the
 * package needs no runtime (or type) dependency on `ai`. test/ai-sdk/chunks.test-d.ts proves each is
 * assignable to `ai`'s own `UIMessageChunk`, so an `ai` upgrade that changes one fails the type check.
 */
import type { StopReason, Usage } from '../events.js';

/** A JSON value, as the AI SDK's provider metadata holds them. */
export type JSONValue = null | string | number | boolean | JSONObject | JSONValue[];

/** A JSON object. */
export interface JSONObject {
  [key: string]: JSONValue | undefined;
}

/**
 * What tokenflow keeps in a part's `providerMetadata.tokenflow`: the fields an assistant turn must
 * send back unchanged (signatures, redacted blocks, Responses items, provider-run tools' blocks).
 * `fromUIMessages()` reads them back.
 */
export interface TokenflowPartMetadata extends JSONObject {
  /** Anthropic's signature of a thinking block (on `reasoning-end`). */
  signature?: string;
  /** A redacted thinking block's opaque data (on `reasoning-start`). */
  redacted?: string;
  /** Provider fields of a reasoning block or a tool call (Responses item `id`, `encrypted_content`; Anthropic `caller`). */
  providerData?: JSONObject;
  /** A tool call that is not a function call (`custom_tool_call`, …): the application, not the history, answers it. */
  kind?: string;
  /** A provider-run tool's call block, or its result block's type (on its output). */
  block?: JSONObject;
  /** The result block's type, on a provider-run tool's output. */
  name?: string;
  /** A citation as the provider sent it (on `source-url`). */
  citation?: JSONObject;
}

/** `providerMetadata` as tokenflow fills it: everything under the `tokenflow` key. */
export interface TokenflowProviderMetadata {
  [provider: string]: JSONObject;
  tokenflow: TokenflowPartMetadata;
}

/** Why the answer finished, in the AI SDK's words. */
export type UIFinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'other';

/**
 * The message metadata tokenflow sends (unless `metadata: false`): the usage on `message-metadata`
 * after each `usage` event (in a tool loop the last one is the loop's sum), the exact stop reason
 * and any refusal on `finish`.
 */
export interface UIMessageMetadata {
  usage?: Usage;
  stopReason?: StopReason;
  refusal?: string;
}

/** What a `data-tokenflow-reset` part carries: a retry discarded output (see docs/protocols.md). */
export interface ResetData {
  reason: string;
  /** The tool-loop step whose output is discarded; absent: everything before the marker. */
  step?: number;
}

/** Every chunk tokenflow writes into a UI message stream. */
export type UIMessageChunk =
  | { type: 'start'; messageId?: string }
  | { type: 'start-step' }
  | { type: 'finish-step' }
  | { type: 'text-start'; id: string }
  | { type: 'text-delta'; id: string; delta: string }
  | { type: 'text-end'; id: string }
  | { type: 'reasoning-start'; id: string; providerMetadata?: TokenflowProviderMetadata }
  | { type: 'reasoning-delta'; id: string; delta: string }
  | { type: 'reasoning-end'; id: string; providerMetadata?: TokenflowProviderMetadata }
  | {
      type: 'tool-input-start';
      toolCallId: string;
      toolName: string;
      inputEncoding?: 'json' | 'text';
      providerExecuted?: boolean;
      providerMetadata?: TokenflowProviderMetadata;
    }
  | { type: 'tool-input-delta'; toolCallId: string; inputTextDelta: string }
  | {
      type: 'tool-input-available';
      toolCallId: string;
      toolName: string;
      input: unknown;
      providerExecuted?: boolean;
      providerMetadata?: TokenflowProviderMetadata;
    }
  | { type: 'tool-input-error'; toolCallId: string; toolName: string; input: unknown; errorText: string; providerMetadata?: TokenflowProviderMetadata }
  | { type: 'tool-output-available'; toolCallId: string; output: unknown; providerExecuted?: boolean; providerMetadata?: TokenflowProviderMetadata }
  | { type: 'tool-output-error'; toolCallId: string; errorText: string }
  | { type: 'source-url'; sourceId: string; url: string; title?: string; providerMetadata?: TokenflowProviderMetadata }
  | { type: 'data-tokenflow-citation'; data: JSONObject }
  | { type: 'data-tokenflow-reset'; data: ResetData }
  | { type: 'message-metadata'; messageMetadata: UIMessageMetadata }
  | { type: 'finish'; finishReason: UIFinishReason; messageMetadata?: UIMessageMetadata }
  | { type: 'error'; errorText: string }
  | { type: 'abort'; reason?: string };

/** The `type` tags of {@link UIMessageChunk}. */
export type UIMessageChunkType = UIMessageChunk['type'];
