/**
 * The provider error types an SSE `error` event may carry as `errorType` (internal). One list for
 * both ends: the server relays a provider's type only when it is in this list, and `fromSSE()`
 * drops any other value, so free text (which could echo upstream input) never reaches a UI.
 *
 * Browser-safe: imports nothing.
 */

/** Well-known provider error types, relayed as `errorType`; anything else is dropped. */
export const KNOWN_PROVIDER_ERROR_TYPES: ReadonlySet<string> = new Set([
  // Anthropic
  'invalid_request_error', 'authentication_error', 'permission_error', 'not_found_error', 'request_too_large',
  'rate_limit_error', 'api_error', 'overloaded_error', 'billing_error', 'timeout_error',
  // OpenAI and OpenAI-compatible (Groq, …)
  'rate_limit_exceeded', 'insufficient_quota', 'server_error', 'invalid_api_key', 'context_length_exceeded',
  'model_not_found', 'tokens', 'requests',
]);

/** `true` for a value that may be relayed as an `errorType`. */
export function isKnownProviderErrorType(value: unknown): value is string {
  return typeof value === 'string' && KNOWN_PROVIDER_ERROR_TYPES.has(value);
}
