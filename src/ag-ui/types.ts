/**
 * The AG-UI vocabulary tokenflow speaks, from `@ag-ui/core`'s own types (type-only: nothing of
 * `@ag-ui/core` loads at run time, so `toAGUI()` and `fromAGUI()` work without it installed).
 */
import type { EventType, Event } from '@ag-ui/core';

/** Any AG-UI 1.0 event (`@ag-ui/core`'s `Event` union). */
export type AGUIEvent = Event;

/**
 * `EventType`'s values at run time without importing the enum: the `satisfies` clause fails the
 * type-check if `@ag-ui/core` adds, removes or renames an event type, so the literals cannot drift.
 */
const NAMES = {
  TEXT_MESSAGE_START: 'TEXT_MESSAGE_START',
  TEXT_MESSAGE_CONTENT: 'TEXT_MESSAGE_CONTENT',
  TEXT_MESSAGE_END: 'TEXT_MESSAGE_END',
  TEXT_MESSAGE_CHUNK: 'TEXT_MESSAGE_CHUNK',
  TOOL_CALL_START: 'TOOL_CALL_START',
  TOOL_CALL_ARGS: 'TOOL_CALL_ARGS',
  TOOL_CALL_END: 'TOOL_CALL_END',
  TOOL_CALL_CHUNK: 'TOOL_CALL_CHUNK',
  TOOL_CALL_RESULT: 'TOOL_CALL_RESULT',
  STATE_SNAPSHOT: 'STATE_SNAPSHOT',
  STATE_DELTA: 'STATE_DELTA',
  MESSAGES_SNAPSHOT: 'MESSAGES_SNAPSHOT',
  ACTIVITY_SNAPSHOT: 'ACTIVITY_SNAPSHOT',
  ACTIVITY_DELTA: 'ACTIVITY_DELTA',
  RAW: 'RAW',
  CUSTOM: 'CUSTOM',
  RUN_STARTED: 'RUN_STARTED',
  RUN_FINISHED: 'RUN_FINISHED',
  RUN_ERROR: 'RUN_ERROR',
  STEP_STARTED: 'STEP_STARTED',
  STEP_FINISHED: 'STEP_FINISHED',
  REASONING_START: 'REASONING_START',
  REASONING_MESSAGE_START: 'REASONING_MESSAGE_START',
  REASONING_MESSAGE_CONTENT: 'REASONING_MESSAGE_CONTENT',
  REASONING_MESSAGE_END: 'REASONING_MESSAGE_END',
  REASONING_MESSAGE_CHUNK: 'REASONING_MESSAGE_CHUNK',
  REASONING_END: 'REASONING_END',
  REASONING_ENCRYPTED_VALUE: 'REASONING_ENCRYPTED_VALUE',
  SUBAGENT_STARTED: 'SUBAGENT_STARTED',
  SUBAGENT_FINISHED: 'SUBAGENT_FINISHED',
  SUBAGENT_ERROR: 'SUBAGENT_ERROR',
} as const satisfies { [K in keyof typeof EventType]: `${(typeof EventType)[K]}` };

/** (internal) The enum's members, typed as the enum so the events built with them type-check. */
export const ET = NAMES as unknown as typeof EventType;

/** (internal) Every AG-UI event type name, for checking what arrives. */
export const AGUI_EVENT_TYPES: ReadonlySet<string> = new Set(Object.values(NAMES));

/**
 * The names of the `CUSTOM` events tokenflow sends for what AG-UI has no event of its own for (see
 * docs/protocols.md): a provider-run tool, a citation, a reset (discarded output).
 */
export const CUSTOM_NAMES = {
  providerTool: 'tokenflow.provider-tool',
  citation: 'tokenflow.citation',
  reset: 'tokenflow.reset',
} as const;

/** The key under an event's `metadata` where tokenflow keeps what AG-UI has no field for. */
export const META_KEY = 'tokenflow';
