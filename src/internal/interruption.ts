/**
 * Ends every operation still waiting when something long-lived happens (a log closes, a reader
 * stops), without the leak of `Promise.race([operation, closed])`.
 *
 * A race adds a reaction to each promise it is given, and a promise that stays pending keeps all
 * of them: racing every Redis command against a `closed` promise kept about 340 bytes per command
 * until the log closed (measured: 50,000 reads grew the heap by 16 MiB). Here each waiting
 * operation is in a set only until it settles.
 */
export class Interruption<R = never> {
  readonly #waiting = new Set<{ resolve: (value: R) => void; reject: (error: unknown) => void }>();
  #outcome: { ok: true; value: R } | { ok: false; error: unknown } | undefined;

  /** Whether `resolve` or `reject` was called. */
  get interrupted(): boolean {
    return this.#outcome !== undefined;
  }

  /**
   * `operation`'s outcome, or the interruption's, whichever comes first (at once the
   * interruption's, once it happened). A rejection of `operation` that comes after is handled.
   */
  race<T>(operation: Promise<T>): Promise<T | R> {
    operation.catch(() => {});
    return new Promise<T | R>((resolve, reject) => {
      const outcome = this.#outcome;
      if (outcome) {
        if (outcome.ok) resolve(outcome.value);
        else reject(outcome.error);
        return;
      }
      const waiter = { resolve, reject };
      this.#waiting.add(waiter);
      operation.then(
        (value) => {
          this.#waiting.delete(waiter);
          resolve(value);
        },
        (error: unknown) => {
          this.#waiting.delete(waiter);
          reject(error);
        },
      );
    });
  }

  /** Settles every waiting operation, and every later one, with `value`. */
  resolve(value: R): void {
    this.#settle({ ok: true, value });
  }

  /** Rejects every waiting operation, and every later one, with `error`. */
  reject(error: unknown): void {
    this.#settle({ ok: false, error });
  }

  #settle(outcome: { ok: true; value: R } | { ok: false; error: unknown }): void {
    if (this.#outcome) return;
    this.#outcome = outcome;
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const waiter of waiting) {
      if (outcome.ok) waiter.resolve(outcome.value);
      else waiter.reject(outcome.error);
    }
  }
}
