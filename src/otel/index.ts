/**
 * `tokenflow/otel`: OpenTelemetry spans and metrics for token streams, following the GenAI semantic
 * conventions. Needs `@opentelemetry/api` (an optional peer dependency: nothing else in tokenflow
 * loads it) and, to record anything, an OpenTelemetry SDK registered by the application.
 *
 * @packageDocumentation
 */
export { traced } from './traced.js';
export { tracedProvider } from './provider.js';
export { hubTelemetry, type HubTelemetryOptions } from './hub.js';
export type { TelemetryOptions, TracedOptions, TracedProviderOptions } from './options.js';
