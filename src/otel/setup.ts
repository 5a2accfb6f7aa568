/**
 * What a recorder is given at subscription (internal): the tracer, the meter's instruments (none for
 * the API's no-op meter) and the checked options.
 */
import { metrics, trace, type Meter, type MeterProvider, type Tracer } from '@opentelemetry/api';
import type { CheckedOptions } from './options.js';
import { instrumentsFor, isNoopMeter } from './instruments.js';
import type { RecorderSetup, ServerInfo } from './recorder.js';

/** The instrumentation scope of tokenflow's spans and metrics. */
export const SCOPE = 'tokenflow';

/** The user's tracer, or the global one (which follows an SDK registered later). */
export function tracerFor(options: CheckedOptions): Tracer {
  return options.tracer ?? trace.getTracer(SCOPE);
}

const meters = new WeakMap<MeterProvider, Meter>();

/**
 * The user's meter, or the global provider's, read at each subscription: `metrics.getMeter()` does
 * not follow a provider registered after it was called, so it is asked again (and cached per provider).
 */
function meterFor(options: CheckedOptions): Meter {
  if (options.meter) return options.meter;
  const provider = metrics.getMeterProvider();
  let meter = meters.get(provider);
  if (!meter) meters.set(provider, (meter = provider.getMeter(SCOPE)));
  return meter;
}

/**
 * The setup of one subscription, or `undefined` when building it failed (a throwing meter): the
 * stream then passes through without telemetry.
 */
export function setupFor(
  options: CheckedOptions,
  tracer: Tracer,
  stream: { request: unknown; server: () => ServerInfo | undefined; streaming: boolean },
): RecorderSetup | undefined {
  try {
    const meter = meterFor(options);
    return {
      tracer,
      instruments: isNoopMeter(meter) ? undefined : instrumentsFor(meter),
      captureContent: options.captureContent,
      providerName: options.providerName,
      agentName: options.agentName,
      conversationId: options.conversationId,
      timePerOutputChunk: options.timePerOutputChunk,
      request: stream.request,
      server: stream.server,
      streaming: stream.streaming,
    };
  } catch {
    return undefined;
  }
}
