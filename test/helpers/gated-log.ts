/**
 * A `StreamHub` channel log with a gate: entries reach the log (and so every follower) only up to
 * an id the test chooses. A test can then act "mid-answer" on an event (a follower has what was let
 * through, the rest is held) instead of racing a wall-clock window against a loaded machine.
 */
import { InMemoryChannelLog, type ChannelLog, type ChannelLogEntry } from '../../src/sse/channel-log.js';

/** A gated in-memory log and its controls. */
export interface GatedLog {
  /** Give it to the hub (`new StreamHub({ log })`). */
  readonly log: ChannelLog;
  /** The entries let through so far, in order (of every channel). */
  readonly entries: readonly ChannelLogEntry[];
  /** Lets entries with an id below `id` through (the limit only grows). */
  allowBelow(id: number): void;
  /** Lets everything through, from now on. Call it before closing the hub: its close waits for appends. */
  open(): void;
  /** Resolves once every entry with an id below `id` has been appended (of any channel). */
  appended(id: number): Promise<void>;
}

/**
 * An in-memory channel log that holds back entries from id `initialLimit` on.
 *
 * @param initialLimit - entries with a lower id pass at once. @defaultValue 0 (everything is held)
 * @returns the log and its gate.
 * @example
 * const gate = gatedLog(4); // start and three tokens
 * const hub = new StreamHub({ log: gate.log });
 * // … a follower shows three tokens, the answer is still open …
 * gate.open();
 */
export function gatedLog(initialLimit = 0): GatedLog {
  const inner = new InMemoryChannelLog();
  let limit = initialLimit;
  let nextAppended = 0;
  const passed: ChannelLogEntry[] = [];
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  const changed = (): Promise<void> =>
    new Promise((resolve) => {
      const waiter = (): void => {
        waiters.delete(waiter);
        resolve();
      };
      waiters.add(waiter);
    });

  const log: ChannelLog = {
    create: inner.create.bind(inner),
    read: inner.read.bind(inner),
    info: inner.info.bind(inner),
    watch: inner.watch.bind(inner),
    expire: inner.expire.bind(inner),
    close: inner.close.bind(inner),
    async append(channel: string, entries: readonly ChannelLogEntry[]): Promise<void> {
      let rest = entries;
      while (rest.length > 0) {
        // Ids ascend within an append: pass the prefix under the limit, hold the rest.
        let allowed = 0;
        while (allowed < rest.length && rest[allowed]!.id < limit) allowed++;
        if (allowed > 0) {
          await inner.append(channel, rest.slice(0, allowed));
          passed.push(...rest.slice(0, allowed));
          nextAppended = Math.max(nextAppended, rest[allowed - 1]!.id + 1);
          wake();
          rest = rest.slice(allowed);
        }
        if (rest.length > 0) await changed();
      }
    },
  };

  return {
    log,
    entries: passed,
    allowBelow(id) {
      if (id <= limit) return;
      limit = id;
      wake();
    },
    open() {
      limit = Number.POSITIVE_INFINITY;
      wake();
    },
    async appended(id) {
      while (nextAppended < id) await changed();
    },
  };
}

/**
 * Lets the hub's entries through one at a time until `tokens` more tokens have reached the log;
 * resolves to the answer text let through so far (the browser tests' way to be "mid-answer").
 */
export async function letTokensThrough(gate: GatedLog, tokens: number): Promise<string> {
  for (let seen = 0; seen < tokens; ) {
    const next = gate.entries.length + 1;
    gate.allowBelow(next);
    await gate.appended(next);
    if (gate.entries.at(-1)!.type === 'token') seen++;
  }
  return tokensLetThrough(gate);
}

/** The answer text of the token entries the gate has let through so far. */
export function tokensLetThrough(gate: GatedLog): string {
  return gate.entries
    .filter((entry) => entry.type === 'token')
    .map((entry) => (JSON.parse(entry.data) as { text: string }).text)
    .join('');
}
