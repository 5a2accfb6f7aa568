/**
 * The real OpenTelemetry SDK, in memory, for the tokenflow/otel tests: a tracer whose spans land in
 * an `InMemorySpanExporter` and a meter read by a manual `MetricReader`. Nothing is registered
 * globally: tests pass `tracer` and `meter` to `traced()` / `tracedProvider()`.
 */
import type { Attributes } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type HistogramMetricData, type MetricData } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace';

/** A metric reader the test collects when it wants (no timer). */
class ManualReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

/** One histogram data point, flattened. */
export interface Point {
  attributes: Attributes;
  count: number;
  sum: number;
  boundaries: number[];
}

export interface Telemetry {
  tracerProvider: TracerProvider;
  meterProvider: MeterProvider;
  tracer: ReturnType<TracerProvider['getTracer']>;
  meter: ReturnType<MeterProvider['getMeter']>;
  /** The finished spans, after flushing the processor. */
  spans(): Promise<ReadableSpan[]>;
  /** The one finished span named `name`. */
  span(name: string): Promise<ReadableSpan>;
  /** Every metric collected so far, by name. */
  metrics(): Promise<Map<string, MetricData>>;
  /** The data points of histogram `name` (none when it recorded nothing). */
  points(name: string): Promise<Point[]>;
  shutdown(): Promise<void>;
}

export function startTelemetry(): Telemetry {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const reader = new ManualReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const telemetry: Telemetry = {
    tracerProvider,
    meterProvider,
    tracer: tracerProvider.getTracer('test'),
    meter: meterProvider.getMeter('test'),
    async spans() {
      await tracerProvider.forceFlush();
      return exporter.getFinishedSpans();
    },
    async span(name) {
      const found = (await telemetry.spans()).filter((s) => s.name === name);
      if (found.length !== 1) throw new Error(`expected one span named ${name}, found ${found.length}: ${(await telemetry.spans()).map((s) => s.name).join(', ')}`);
      return found[0]!;
    },
    async metrics() {
      const { resourceMetrics } = await reader.collect();
      const byName = new Map<string, MetricData>();
      for (const scope of resourceMetrics.scopeMetrics) for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
      return byName;
    },
    async points(name) {
      const metric = (await telemetry.metrics()).get(name) as HistogramMetricData | undefined;
      if (!metric) return [];
      return metric.dataPoints.map((point) => ({
        attributes: point.attributes,
        count: point.value.count,
        sum: point.value.sum ?? Number.NaN,
        boundaries: point.value.buckets.boundaries,
      }));
    },
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
  return telemetry;
}

/** `true` when `child`'s parent is `parent` (same trace, parent span id). */
export function isChildOf(child: ReadableSpan, parent: ReadableSpan): boolean {
  return child.parentSpanContext?.spanId === parent.spanContext().spanId && child.spanContext().traceId === parent.spanContext().traceId;
}

/** A span's start and end in milliseconds (of the SDK's clock). */
export function timesOf(span: ReadableSpan): { start: number; end: number } {
  const ms = ([seconds, nanos]: [number, number]): number => seconds * 1000 + nanos / 1e6;
  return { start: ms(span.startTime), end: ms(span.endTime) };
}
