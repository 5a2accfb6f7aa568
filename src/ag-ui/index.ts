/**
 * `tokenflow/ag-ui`: tokenflow streams as AG-UI 1.0 runs (`toAGUI()`, `aguiResponse()`), and AG-UI
 * event streams as tokenflow streams (`fromAGUI()`). Only this entry point touches `@ag-ui/*`:
 * types at build time, and `@ag-ui/encoder` (an optional peer) loaded by `aguiResponse()` alone.
 *
 * @packageDocumentation
 */
export { AGUIEncoder, type AGUIEncoderOptions } from './encoder.js';
export { toAGUI, type ToAGUIOptions } from './toAGUI.js';
export { fromAGUI, type FromAGUIOptions, type UnmappedPolicy } from './fromAGUI.js';
export { aguiResponse, readRunAgentInput, fromAGUIMessages, type AGUIResponseOptions, type AGUIRunRequest } from './http.js';
export { aguiHubFormat, type AGUIHubFormatOptions } from './hub.js';
export type { AGUIEvent } from './types.js';
