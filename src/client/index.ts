/**
 * `tokenflow/client`: read a tokenflow event stream relayed over Server-Sent Events, in a browser or
 * any runtime with `fetch`. Imports nothing from Node.
 *
 * @packageDocumentation
 */
export { fromSSE } from './fromSSE.js';
export type { FromSSEOptions, ReconnectOptions, SSEMode } from './options.js';
