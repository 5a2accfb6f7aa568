/**
 * The hub's tracing hooks: an interface with no tracing library behind it, so the core imports
 * nothing of OpenTelemetry. `tokenflow/otel`'s `hubTelemetry()` implements it; a hook that throws
 * is reported once per hub with `console.error` and never breaks a publication or a follower.
 */
import type { ChannelInfo, ChannelLogEntry } from './channel-log.js';
import type { HubRequest } from './hub-http.js';
import type { Batch, Sink } from './sinks.js';

/**
 * A trace context in its wire form (W3C `traceparent`, `tracestate`, `baggage`, or whatever the
 * application's propagator writes): stored with a channel, in Redis too, so a follower on any
 * server can link to the answer it watches.
 */
export type TraceCarrier = Readonly<Record<string, string>>;

/** How a channel ended, from its terminal entry. */
export interface ChannelOutcome {
  /** `done`, or `error` for a failed, stopped, abandoned or lost upstream. */
  readonly status: 'done' | 'error';
  /** The error's class name (`StreamAbortedError`, `HttpStatusError`, …), for `error`. */
  readonly errorName?: string;
  /** The error's reason (`stopped`, `abandoned`, `lost`, `timeout`, …), when it has one. */
  readonly reason?: string;
  /** How many events the channel recorded, its terminal entry included. */
  readonly events: number;
}

/** How a follower's response ended. */
export interface FollowerOutcome {
  /**
   * `done` or `error`: the channel's own ending reached this follower; `failed`: the hub could not
   * go on for it (the channel expired, the log was lost); `dropped`: cut off as too slow (it
   * resumes by reconnecting); `disconnected`: the client left, or the hub closed, before the end.
   */
  readonly status: 'done' | 'error' | 'failed' | 'dropped' | 'disconnected';
  /** For `error` and `failed`: the error's class name. */
  readonly errorName?: string;
  /** For `error` and `failed`: the error's reason, when it has one. */
  readonly reason?: string;
  /** Events written to this follower (replayed and live). */
  readonly events: number;
  /** When the first event was written (ms since the epoch), or `undefined` when none was. */
  readonly firstEventAt: number | undefined;
}

/** What a `HubTelemetry` keeps for one publication. */
export interface PublishTrace {
  /** Stored with the channel for its followers (`ChannelInfo.trace`). */
  readonly carrier?: TraceCarrier;
  /** Runs the subscription to the published stream, so what it starts (its spans) is inside this trace. */
  run(subscribe: () => void): void;
  /** The channel's terminal entry was stored (or the log failed: `status: 'error'`, reason `lost`). */
  end(outcome: ChannelOutcome): void;
}

/** What a `HubTelemetry` keeps for one follower's request. */
export interface FollowTrace {
  /** The follower's response ended. */
  end(outcome: FollowerOutcome): void;
}

/** What a follower's request is, when the hub has admitted it. */
export interface FollowStart {
  readonly channel: string;
  /** The request (its headers carry the client's `traceparent`, if any). */
  readonly request: HubRequest;
  /** The channel, with the trace context its publisher stored (`info.trace`). */
  readonly info: ChannelInfo;
  /** The resume point: `-1` from the start, else the `Last-Event-ID` it came back with. */
  readonly afterId: number;
  /** When the request arrived (ms since the epoch), before authorization and the log's answer. */
  readonly arrivedAt: number;
}

/**
 * Tracing for a `StreamHub` (option `telemetry`): a trace context recorded with each channel at
 * `publish`, and one record per follower's HTTP request that can link back to it. Use
 * `hubTelemetry()` from `tokenflow/otel`, or implement it for another tracer.
 */
export interface HubTelemetry {
  /** A channel is being published; `undefined` records nothing for it. */
  publish(channel: string, meta: Readonly<Record<string, unknown>>): PublishTrace | undefined;
  /** A follower's HTTP request was admitted; `undefined` records nothing for it. */
  follow(start: FollowStart): FollowTrace | undefined;
}

/** `true` for something that has the hub's two telemetry hooks. */
export function isHubTelemetry(value: unknown): value is HubTelemetry {
  if (typeof value !== 'object' || value === null) return false;
  const telemetry = value as Record<string, unknown>;
  return typeof telemetry.publish === 'function' && typeof telemetry.follow === 'function';
}

/**
 * Calls a hook and keeps its failure away from the hub: telemetry is an observer, and a broken one
 * must not end an answer or a follower. Reported once per hub, so a hook that always throws does
 * not flood the log.
 */
export class TelemetryGuard {
  #reported = false;
  constructor(readonly telemetry: HubTelemetry) {}

  call<T>(what: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (error) {
      if (!this.#reported) {
        this.#reported = true;
        console.error(`tokenflow StreamHub: the telemetry hook threw in ${what}; the hub goes on without it (reported once).`, error);
      }
      return undefined;
    }
  }
}

/** The outcome a terminal entry stands for. */
export function channelOutcome(terminal: ChannelLogEntry | undefined, events: number): ChannelOutcome {
  if (!terminal) return { status: 'error', errorName: 'RemoteStreamError', reason: 'lost', events };
  if (terminal.type === 'done') return { status: 'done', events };
  return { status: 'error', ...errorFields(terminal.data), events };
}

function errorFields(data: string): { errorName?: string; reason?: string } {
  try {
    const error = JSON.parse(data) as { name?: unknown; reason?: unknown };
    return {
      ...(typeof error.name === 'string' ? { errorName: error.name } : {}),
      ...(typeof error.reason === 'string' ? { reason: error.reason } : {}),
    };
  } catch {
    return {};
  }
}

/**
 * Follows one follower's sink for its trace: counts what it is sent and, when it closes, reports
 * how it ended. Patches only this sink instance, so a hub without telemetry pays nothing.
 */
export function watchSink(sink: Sink, trace: FollowTrace, guard: TelemetryGuard): void {
  let events = 0;
  let firstEventAt: number | undefined;
  let ending: Omit<FollowerOutcome, 'events' | 'firstEventAt'> | undefined;
  let reported = false;
  const { write, fail, kill, close } = sink;
  const onEnd = (status: Omit<FollowerOutcome, 'events' | 'firstEventAt'>): void => {
    ending ??= status;
  };
  // The trace ends once, when the sink has closed (a failure closes it; a drop kills it).
  const report = (): void => {
    if (reported) return;
    reported = true;
    const outcome = { ...(ending ?? { status: 'disconnected' as const }), events, firstEventAt };
    guard.call('follow().end', () => trace.end(outcome));
  };
  sink.write = function (this: Sink, batch: Batch, live: boolean): boolean {
    if (!this.closed && batch.entries.length > 0) {
      firstEventAt ??= Date.now();
      events += batch.entries.length;
      const last = batch.entries[batch.entries.length - 1]!;
      if (last.type === 'done') onEnd({ status: 'done' });
      else if (last.type === 'error') onEnd({ status: 'error', ...errorFields(last.data) });
    }
    return write.call(this, batch, live);
  };
  sink.fail = function (this: Sink, error) {
    if (!this.closed) onEnd({ status: 'failed', errorName: error.name, ...(error.reason === undefined ? {} : { reason: error.reason }) });
    fail.call(this, error);
  };
  sink.kill = function (this: Sink) {
    if (!this.closed) onEnd({ status: 'dropped' });
    kill.call(this);
    report();
  };
  sink.close = function (this: Sink) {
    close.call(this);
    report();
  };
}
