import { map, type OperatorFunction } from 'rxjs';
import type { StreamMetrics, TokenEvent } from '../events.js';
import { collect } from './collect.js';

/**
 * Emits the answer's final {@link StreamMetrics} when the stream completes: time to first token,
 * elapsed time, token events, tokens per second (from the provider's output count), characters, the
 * gaps between tokens (median, p90, max) and, where the provider sends them (Groq), its own timings.
 *
 *   source:     --start--tok--tok--usage--done--|
 *   metrics():  --------------------------------(m|)
 *
 * Errors like {@link collect}: a stream without `done` is a `ProtocolError`. For live figures while
 * the answer streams, use {@link progress}.
 *
 * @example
 * const m = await firstValueFrom(llm.stream(request).pipe(metrics()));
 * console.log(`${m.ttftMs} ms to first token, ${m.tokensPerSecond?.toFixed(1)} tokens/s`);
 *
 * @returns an operator emitting one `StreamMetrics`
 */
export function metrics(): OperatorFunction<TokenEvent, StreamMetrics> {
  return (source) => source.pipe(collect(), map((response) => response.metrics));
}
