/**
 * What operators downstream tell a provider stream when they subscribe to it (internal: not exported
 * from the package). RxJS subscribes a chain synchronously from the consumer up to the source, so an
 * operator can set a context for the duration of its own `source.subscribe()` call and the provider
 * stream at the top reads it in its subscribe function, through any operators in between (`map`,
 * `tap`, tokenflow's own). An operator that subscribes its source later (asynchronously) passes no
 * context: the stream then behaves as it does on its own.
 *
 * Two things travel this way:
 * - **one retry owner:** under `retryBeforeFirstToken()` / `retryMidStream()`, the SDK sends each
 *   attempt once (`maxRetries: 0` for that request), so one 429 never becomes 3 × 3 requests;
 * - **a probe:** a timeout operator learns what the provider already reported (its exact usage, the
 *   partial text) before it lets go of the request, so its error carries figures, not estimates.
 *
 * The slot lives on `globalThis` under a `Symbol.for` key so that duplicate installs share it.
 */
import type { Usage } from './events.js';

/** What a provider stream can tell about itself while it runs. */
export interface StreamProbe {
  /** The usage so far: the provider's counts where it sent them, estimated otherwise. */
  usage(): Usage;
  /** The answer text so far. */
  partialText(): string;
}

/** What the operators between a consumer and a provider stream ask of it. */
export interface StreamContext {
  /** A tokenflow retry operator owns retries: the SDK must send the request once. */
  retryOwner?: boolean;
  /** Receives the provider stream's probe when it is subscribed. */
  probe?: (probe: StreamProbe) => void;
}

const SLOT = Symbol.for('tokenflow.streamContext');
type Slot = { [SLOT]?: StreamContext | undefined };

/**
 * Runs `subscribe` (a `source.subscribe(…)` call) with `context` added to the one already in force:
 * retry ownership is kept once set, probes all receive the stream's probe.
 */
export function subscribeWithContext<T>(context: StreamContext, subscribe: () => T): T {
  const slot = globalThis as Slot;
  const outer = slot[SLOT];
  const merged: StreamContext = { ...outer, ...context };
  if (outer?.retryOwner || context.retryOwner) merged.retryOwner = true;
  const outerProbe = outer?.probe;
  const innerProbe = context.probe;
  if (outerProbe && innerProbe) {
    merged.probe = (probe) => {
      outerProbe(probe);
      innerProbe(probe);
    };
  }
  slot[SLOT] = merged;
  try {
    return subscribe();
  } finally {
    slot[SLOT] = outer;
  }
}

/** The context in force while a provider stream is being subscribed (`undefined` outside one). */
export function currentStreamContext(): StreamContext | undefined {
  return (globalThis as Slot)[SLOT];
}
