/**
 * The four GenAI client histograms (internal), made once per `Meter` with the conventions' units,
 * descriptions and explicit bucket advice.
 */
import { createNoopMeter, ValueType, type Histogram, type Meter } from '@opentelemetry/api';
import {
  METRIC_OPERATION_DURATION,
  METRIC_TIME_PER_OUTPUT_CHUNK,
  METRIC_TIME_TO_FIRST_CHUNK,
  METRIC_TOKEN_USAGE,
  SECONDS_BUCKETS,
  TOKEN_BUCKETS,
} from './conventions.js';

/** The histograms tokenflow records into. */
export interface Instruments {
  /** `gen_ai.client.token.usage` ({token}): input and output tokens per operation. */
  tokenUsage: Histogram;
  /** `gen_ai.client.operation.duration` (s). */
  duration: Histogram;
  /** `gen_ai.client.operation.time_to_first_chunk` (s). */
  timeToFirstChunk: Histogram;
  /** `gen_ai.client.operation.time_per_output_chunk` (s), one value per chunk after the first. */
  timePerOutputChunk: Histogram;
}

const cache = new WeakMap<Meter, Instruments>();

/**
 * `true` for the API's no-op meter: what `metrics.getMeter()` returns while no SDK is registered.
 * Recording into it does nothing, so a stream without a tracer and without a meter skips all work.
 */
export function isNoopMeter(meter: Meter): boolean {
  return meter === createNoopMeter();
}

/** The instruments of `meter`, created on first use. */
export function instrumentsFor(meter: Meter): Instruments {
  let instruments = cache.get(meter);
  if (instruments) return instruments;
  const seconds = (name: string, description: string): Histogram =>
    meter.createHistogram(name, { description, unit: 's', valueType: ValueType.DOUBLE, advice: { explicitBucketBoundaries: [...SECONDS_BUCKETS] } });
  instruments = {
    tokenUsage: meter.createHistogram(METRIC_TOKEN_USAGE, {
      description: 'Number of input and output tokens used.',
      unit: '{token}',
      valueType: ValueType.INT,
      advice: { explicitBucketBoundaries: [...TOKEN_BUCKETS] },
    }),
    duration: seconds(METRIC_OPERATION_DURATION, 'GenAI operation duration.'),
    timeToFirstChunk: seconds(
      METRIC_TIME_TO_FIRST_CHUNK,
      'Time to receive the first chunk, measured from when the client issues the generation request to when the first chunk is received in the response stream.',
    ),
    timePerOutputChunk: seconds(
      METRIC_TIME_PER_OUTPUT_CHUNK,
      'Time per output chunk, recorded for each chunk received after the first one, measured as the time elapsed from the end of the previous chunk to the end of the current chunk.',
    ),
  };
  cache.set(meter, instruments);
  return instruments;
}
