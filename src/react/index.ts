/**
 * `tokenflow/react`: `useTokenStream()`, a React hook that follows a token stream (an Observable, or
 * a channel URL read with `fromSSE()`) and keeps its text, status, figures, tool calls and error.
 * React (18 or later) is an optional peer dependency of tokenflow, needed only for this entry.
 * Browser-safe: imports only React, rxjs and browser-safe tokenflow modules.
 *
 * @packageDocumentation
 */
export { useTokenStream, type TokenStream, type TokenStreamSource, type UseTokenStreamOptions } from './useTokenStream.js';
export type { TokenStreamMetrics, TokenStreamState, TokenStreamStatus, ToolCallActivity } from './fold.js';
