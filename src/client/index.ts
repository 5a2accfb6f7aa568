/**
 * `tokenflow/client`: read a tokenflow event stream relayed over Server-Sent Events, in a browser or
 * any runtime with `fetch`. Imports nothing from Node.
 *
 * @packageDocumentation
 */
export { fromSSE } from './fromSSE.js';
export type { FromSSEOptions, ReconnectOptions, SSEMode } from './options.js';
// The errors fromSSE raises, so browser code can tell them apart without importing the core entry.
export {
  ConnectionError,
  ProtocolError,
  RemoteStreamError,
  SSEResponseError,
  StreamAbortedError,
  TokenflowError,
  type RemoteStreamReason,
  type SerializedStreamError,
} from '../errors.js';
export type { TokenEvent } from '../events.js';
