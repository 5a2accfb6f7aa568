/**
 * `hubTelemetry()`: OpenTelemetry spans for a `StreamHub`, so one trace follows an answer from the
 * provider call through the hub to every browser that watched it.
 */
import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Context,
  type Link,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import { InvalidArgumentError } from '../errors.js';
import { describeValue } from '../internal/describe.js';
import type { HubRequest } from '../sse/hub-http.js';
import type { ChannelOutcome, FollowerOutcome, FollowStart, FollowTrace, HubTelemetry, PublishTrace } from '../sse/hub-telemetry.js';
import { rejectUnknownKeys, requireObject } from '../validate.js';
import { ERROR_TYPE } from './conventions.js';
import { SCOPE } from './setup.js';

/** Options of {@link hubTelemetry}. */
export interface HubTelemetryOptions {
  /**
   * The tracer the hub's spans are started with.
   * @defaultValue the global tracer: `trace.getTracer('tokenflow')` (a no-op until an SDK is registered)
   */
  tracer?: Tracer;
  /**
   * How the trace context is written with a channel and read from a follower's request headers.
   * @defaultValue the global propagator (`propagation`, which an SDK such as `NodeSDK` sets to W3C
   *   Trace Context and Baggage); when it writes or reads nothing, W3C `traceparent` / `tracestate`
   */
  propagator?: TextMapPropagator;
}

// Messaging semantic conventions: the hub publishes a channel, and each follower receives it.
const MESSAGING_SYSTEM = 'messaging.system';
const MESSAGING_OPERATION_NAME = 'messaging.operation.name';
const MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
const MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
// tokenflow's own (outside the conventions).
const HUB_EVENTS = 'tokenflow.hub.events';
const HUB_OUTCOME = 'tokenflow.hub.outcome';
const HUB_RESUMED_AFTER = 'tokenflow.hub.resumed_after';
const HUB_WAIT = 'tokenflow.hub.time_to_first_event';

/** A failure that is a cancellation (someone stopped the answer, or nobody followed it): not an error. */
const CANCELLATIONS = new Set(['stopped', 'abandoned']);

/**
 * Tracing for a `StreamHub` or `RedisStreamHub` (their `telemetry` option), with OpenTelemetry.
 *
 * - `hub.publish()` starts a `publish` span (kind PRODUCER) in the active context, subscribes the
 *   answer's stream inside it (so a `traced()` answer's `chat` span is its child), and stores its
 *   trace context with the channel, in Redis too. The span ends when the channel does.
 * - Each follower's HTTP request gets a `follow` span (kind CONSUMER) from the request's arrival to
 *   the response's end, linked to the `publish` span. Its parent is the request's own trace: the
 *   active span (an HTTP instrumentation's) or the `traceparent` header; a request with neither
 *   joins the answer's trace as a child of `publish`, so one trace shows every browser that watched.
 *   It records how many events went out, how long the follower waited for the first
 *   (`tokenflow.hub.time_to_first_event`, seconds) and how its response ended (`tokenflow.hub.outcome`).
 *
 * Spans follow the messaging conventions' attributes (`messaging.system` `tokenflow`,
 * `messaging.operation.name`, `messaging.destination.name` = the channel id). A stopped or abandoned
 * channel is a cancellation, not an error; a failed upstream or a lost follower sets status ERROR
 * and `error.type`. A failure inside telemetry never reaches the hub.
 *
 * @example
 * import { StreamHub } from 'tokenflow/sse';
 * import { hubTelemetry, traced } from 'tokenflow/otel';
 * const hub = new StreamHub({ telemetry: hubTelemetry() });
 * await hub.publish(channel, llm.stream(request).pipe(traced({ request })));
 *
 * @param options - `tracer`, `propagator`
 * @returns the hooks to pass as the hub's `telemetry` option
 * @throws InvalidArgumentError naming the offending option
 */
export function hubTelemetry(options?: HubTelemetryOptions): HubTelemetry {
  const { tracer: userTracer, propagator } = checkOptions(options);
  const tracer = (): Tracer => userTracer ?? trace.getTracer(SCOPE);
  return {
    publish(channel) {
      const parent = context.active();
      const span = tracer().startSpan(
        'publish',
        { kind: SpanKind.PRODUCER, attributes: messaging('publish', 'send', channel) },
        parent,
      );
      const inside = trace.setSpan(parent, span);
      const carrier: Record<string, string> = {};
      inject(propagator, inside, carrier, span.spanContext());
      const published: PublishTrace = {
        carrier,
        run: (subscribe) => context.with(inside, subscribe),
        end: (outcome) => {
          span.setAttribute(HUB_EVENTS, outcome.events);
          span.setAttribute(HUB_OUTCOME, outcomeName(outcome));
          if (isFailure(outcome)) markError(span, outcome.errorName);
          span.end();
        },
      };
      return published;
    },
    follow(start) {
      const publisher = extract(propagator, ROOT_CONTEXT, start.info.trace ?? {}, recordGetter);
      const own = requestContext(propagator, start.request);
      const parent = own ?? (publisher ? trace.setSpanContext(ROOT_CONTEXT, publisher) : ROOT_CONTEXT);
      const links: Link[] = publisher ? [{ context: publisher }] : [];
      const attributes = messaging('follow', 'receive', start.channel);
      if (start.afterId >= 0) attributes[HUB_RESUMED_AFTER] = start.afterId;
      const span = tracer().startSpan('follow', { kind: SpanKind.CONSUMER, attributes, links, startTime: start.arrivedAt }, parent);
      const following: FollowTrace = {
        end: (outcome) => {
          span.setAttribute(HUB_EVENTS, outcome.events);
          span.setAttribute(HUB_OUTCOME, followerOutcomeName(outcome));
          if (outcome.firstEventAt !== undefined) span.setAttribute(HUB_WAIT, Math.max(0, outcome.firstEventAt - start.arrivedAt) / 1000);
          if ((outcome.status === 'error' || outcome.status === 'failed') && !CANCELLATIONS.has(outcome.reason ?? '')) {
            markError(span, outcome.errorName);
          }
          span.end();
        },
      };
      return following;
    },
  };
}

function messaging(operation: string, type: string, channel: string): Record<string, string | number> {
  return {
    [MESSAGING_SYSTEM]: 'tokenflow',
    [MESSAGING_OPERATION_NAME]: operation,
    [MESSAGING_OPERATION_TYPE]: type,
    [MESSAGING_DESTINATION_NAME]: channel,
  };
}

function isFailure(outcome: ChannelOutcome): boolean {
  return outcome.status === 'error' && !CANCELLATIONS.has(outcome.reason ?? '');
}

function outcomeName(outcome: ChannelOutcome): string {
  return outcome.status === 'done' ? 'done' : (outcome.reason ?? 'error');
}

function followerOutcomeName(outcome: FollowerOutcome): string {
  if (outcome.status === 'error' || outcome.status === 'failed') return outcome.reason ?? 'error';
  return outcome.status;
}

function markError(span: ReturnType<Tracer['startSpan']>, errorName: string | undefined): void {
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.setAttribute(ERROR_TYPE, errorName ?? 'Error');
}

const recordGetter: TextMapGetter<Readonly<Record<string, string>>> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

const requestGetter: TextMapGetter<HubRequest> = {
  // A follower's headers are read one by one: the hub's request view lists none.
  keys: () => [],
  get: (request, key) => request.header(key),
};

/** The follower request's own trace: the active span (an HTTP instrumentation's), else its headers'. */
function requestContext(propagator: TextMapPropagator | undefined, request: HubRequest): Context | undefined {
  const active = context.active();
  if (trace.getSpan(active)) return active;
  const remote = extract(propagator, active, request, requestGetter);
  return remote ? trace.setSpanContext(active, remote) : undefined;
}

function inject(propagator: TextMapPropagator | undefined, ctx: Context, carrier: Record<string, string>, span: SpanContext): void {
  (propagator ?? propagation).inject(ctx, carrier, { set: (c, key, value) => (c[key] = value) });
  if (Object.keys(carrier).length === 0 && isSpanContextValid(span)) {
    // No propagator is registered (the API's default writes nothing): write W3C, so followers can still link.
    carrier.traceparent = `00-${span.traceId}-${span.spanId}-0${(span.traceFlags & TraceFlags.SAMPLED).toString(16)}`;
    const state = span.traceState?.serialize();
    if (state) carrier.tracestate = state;
  }
}

function extract<C>(propagator: TextMapPropagator | undefined, ctx: Context, carrier: C, getter: TextMapGetter<C>): SpanContext | undefined {
  const found = trace.getSpanContext((propagator ?? propagation).extract(ctx, carrier, getter));
  if (found && isSpanContextValid(found)) return found;
  return parseTraceparent(getter.get(carrier, 'traceparent'));
}

/** W3C Trace Context's `traceparent` (version 00 and later versions' first four fields). */
function parseTraceparent(header: string | string[] | undefined): SpanContext | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value === undefined ? null : /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/.exec(value.trim());
  if (!match || match[1] === 'ff' || (match[1] === '00' && match[5] !== undefined)) return undefined;
  const found: SpanContext = { traceId: match[2]!, spanId: match[3]!, traceFlags: parseInt(match[4]!, 16) & TraceFlags.SAMPLED, isRemote: true };
  return isSpanContextValid(found) ? found : undefined;
}

function checkOptions(value: unknown): { tracer: Tracer | undefined; propagator: TextMapPropagator | undefined } {
  if (value === undefined) return { tracer: undefined, propagator: undefined };
  const options = requireObject(value, 'hubTelemetry() options');
  rejectUnknownKeys(options, ['tracer', 'propagator'], 'hubTelemetry() options');
  const { tracer, propagator } = options;
  if (tracer !== undefined && typeof (tracer as Partial<Tracer> | null)?.startSpan !== 'function') {
    throw new InvalidArgumentError(
      'hubTelemetry.tracer',
      `hubTelemetry.tracer must be an OpenTelemetry Tracer (with startSpan()), such as trace.getTracer('my-app'), got ${describeValue(tracer)}.`,
    );
  }
  const p = propagator as Partial<TextMapPropagator> | null | undefined;
  if (propagator !== undefined && (typeof p?.inject !== 'function' || typeof p.extract !== 'function')) {
    throw new InvalidArgumentError(
      'hubTelemetry.propagator',
      `hubTelemetry.propagator must be an OpenTelemetry TextMapPropagator (with inject() and extract()), such as new W3CTraceContextPropagator(), got ${describeValue(propagator)}.`,
    );
  }
  return { tracer: tracer as Tracer | undefined, propagator: propagator as TextMapPropagator | undefined };
}
