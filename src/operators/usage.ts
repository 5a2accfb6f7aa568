import { map, type OperatorFunction } from 'rxjs';
import type { TokenEvent, Usage } from '../events.js';
import { collect } from './collect.js';

/**
 * Emits the answer's final {@link Usage} when the stream completes: exact when the provider sent
 * counts, otherwise estimated with a tokenizer and marked `estimated: true`.
 *
 *   source:   --start--tok--tok--usage(u)--done--|
 *   usage():  -----------------------------------(u|)
 *
 * Errors like {@link collect}: a stream without `done` is a `ProtocolError`.
 *
 * @example
 * const { inputTokens, outputTokens, estimated } = await firstValueFrom(llm.stream(request).pipe(usage()));
 *
 * @returns an operator emitting one `Usage`
 */
export function usage(): OperatorFunction<TokenEvent, Usage> {
  return (source) => source.pipe(collect(), map((response) => response.usage));
}
