import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { TokenEvent } from '../events.js';
import { checkTracedOptions, type TracedOptions } from './options.js';
import { recordThrough } from './record.js';
import { StreamRecorder } from './recorder.js';
import { setupFor, tracerFor } from './setup.js';

/**
 * Records each subscription to a token stream as OpenTelemetry spans and GenAI client metrics,
 * following the GenAI semantic conventions, and passes every event through unchanged.
 *
 *   source:    --start--tok--tok--usage--done--|
 *   traced():  --start--tok--tok--usage--done--|      span "chat {model}" from subscription to done
 *
 * One answer is one `chat {model}` span (kind CLIENT) with `gen_ai.provider.name`, the request's
 * and the response's model, `gen_ai.response.id`, `gen_ai.response.finish_reasons`, the usage and
 * `gen_ai.response.time_to_first_chunk` (the `t` of the first output event, in seconds). An Agent's
 * tool loop (`agent.stream(message, { tools })`) is one `invoke_agent` span with a `chat` child per
 * step and an `execute_tool {name}` child per tool call, all timed by the events. An error sets the
 * span's status to ERROR and `error.type`; unsubscribing ends the spans with a `tokenflow.cancelled`
 * event and attribute, not as an error. Prompt and answer content only with `captureContent`.
 *
 * Metrics: `gen_ai.client.token.usage`, `gen_ai.client.operation.duration`,
 * `gen_ai.client.operation.time_to_first_chunk` and `gen_ai.client.operation.time_per_output_chunk`,
 * with the conventions' units and bucket advice.
 *
 * Without `tracer` and `meter` it uses the API's global ones: until an SDK is registered they are
 * no-ops and the operator does nothing but pass the events on. A failure inside telemetry (a
 * throwing exporter) never reaches the stream. A provider wrapped with {@link tracedProvider} knows
 * the request and the server; use `traced()` for any other stream (an Agent's, one from `fromSSE()`).
 *
 * @example
 * import { traced } from 'tokenflow/otel';
 * const answer$ = agent.stream('Weather in Lisbon?', { tools }).pipe(traced({ agentName: 'weather' }));
 *
 * @param options - `tracer`, `meter`, `captureContent`, `request`, `providerName`, `agentName`,
 *   `conversationId`, `serverAddress`, `serverPort`, `timePerOutputChunk`
 * @returns an operator that passes the stream on as it is
 * @throws InvalidArgumentError naming the offending option
 */
export function traced(options?: TracedOptions): MonoTypeOperatorFunction<TokenEvent> {
  const checked = checkTracedOptions(options);
  const tracer = tracerFor(checked);
  const server = checked.server;
  return (source) =>
    new Observable<TokenEvent>((subscriber) => {
      const setup = setupFor(checked, tracer, { request: checked.request, server: () => server, streaming: true });
      if (!setup) return source.subscribe(subscriber);
      const recorder = new StreamRecorder(setup);
      // An agent's stream: its span starts now and the loop's requests run inside it.
      return recordThrough(source, subscriber, recorder, checked.agentName !== undefined ? recorder.beginAgent() : undefined);
    });
}
