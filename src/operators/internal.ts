/**
 * Shared option checks for the operators (internal: not exported from the package). Operators
 * validate their options when they are created, so a typo fails at the `pipe()` call, not later.
 */
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { InvalidArgumentError } from '../errors.js';
import type { TokenEvent } from '../events.js';
import { rejectUnknownKeys, requireNumber, requireObject } from '../validate.js';

/** Checks an operator's options object (or `undefined`) and its keys. */
export function readOptions(value: unknown, name: string, known: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  const options = requireObject(value, `${name}() options`);
  rejectUnknownKeys(options, known, `${name}() options`);
  return options;
}

/** The `scheduler` option: anything with `now()` and `schedule()`, default `asyncScheduler`. */
export function readScheduler(value: unknown, name: string): SchedulerLike {
  if (value === undefined) return asyncScheduler;
  const s = value as Partial<SchedulerLike> | null;
  if (typeof s !== 'object' || s === null || typeof s.now !== 'function' || typeof s.schedule !== 'function') {
    throw new InvalidArgumentError(`${name}.scheduler`, `${name}(): scheduler must be an RxJS SchedulerLike (with now() and schedule()).`);
  }
  return value as SchedulerLike;
}

/** A non-negative number of milliseconds. */
export function readMs(value: unknown, path: string, { min = 0 } = {}): number {
  return requireNumber(value, path, { min });
}

/**
 * `true` for the answer's output of any kind: text, reasoning, a tool call the application answers,
 * or a tool the provider runs. The one definition of "first token" the operators share: it disarms
 * `firstTokenTimeout()`, ends the window in which `retryBeforeFirstToken()` may retry, and starts the
 * clock of `tokensPerSecond`. (`start`, `citation`, `usage`, `reset` and `done` are not output.)
 *
 * @param event - any event of the stream
 * @returns whether the event is output the user may already have been shown
 */
export function isOutput(event: TokenEvent): boolean {
  const type = event.type;
  return type === 'token' || type === 'reasoning' || type === 'tool-call' || type === 'provider-tool';
}
