import { metrics, trace, type Meter, type Tracer } from '@opentelemetry/api';
import type { MonoTypeOperatorFunction, Observable } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import type { ChatRequest, Provider, TokenEvent } from '../../src/index.js';
import { traced, tracedProvider, type TelemetryOptions, type TracedOptions, type TracedProviderOptions } from '../../src/otel/index.js';

declare const llm: Provider;
declare const events$: Observable<TokenEvent>;
declare const request: ChatRequest;

describe('tokenflow/otel types', () => {
  it('traced() is a pass-through operator on token streams', () => {
    expectTypeOf(traced()).toEqualTypeOf<MonoTypeOperatorFunction<TokenEvent>>();
    expectTypeOf(events$.pipe(traced({ request, captureContent: true }))).toEqualTypeOf<Observable<TokenEvent>>();
  });

  it('takes the API’s own Tracer and Meter', () => {
    expectTypeOf<TelemetryOptions['tracer']>().toEqualTypeOf<Tracer | undefined>();
    expectTypeOf<TelemetryOptions['meter']>().toEqualTypeOf<Meter | undefined>();
    traced({ tracer: trace.getTracer('app'), meter: metrics.getMeter('app'), agentName: 'a', conversationId: 'c', timePerOutputChunk: false });
  });

  it('tracedProvider() returns a Provider and takes no request or server options', () => {
    expectTypeOf(tracedProvider(llm)).toEqualTypeOf<Provider>();
    expectTypeOf<TracedProviderOptions>().not.toHaveProperty('request');
    expectTypeOf<TracedOptions>().toHaveProperty('serverAddress');
    // @ts-expect-error: the provider knows its request and server itself
    tracedProvider(llm, { serverAddress: 'api.example.com' });
  });
});
