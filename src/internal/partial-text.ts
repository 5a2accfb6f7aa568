/**
 * The one reset-aware accumulator of an answer's text (internal). Every part of tokenflow that
 * reports "the text so far" (errors' `partialText`, the hub's lost notices, the client session,
 * the bridge, the operators) folds events through this, so a `reset` (a retry started the answer
 * over) clears the text everywhere the same way: all of it, or, for a reset a tool loop tagged with
 * its `step`, only that step's text (earlier steps ran and will not be repeated).
 */
export class PartialText {
  #text = '';
  /**
   * The text's length at each `step-start` seen, by step: where a reset of that step cuts back to.
   * A loop has a handful of steps (`maxSteps`), so this stays tiny.
   */
  #stepStarts = new Map<number, number>();

  /**
   * Folds one event in: a `token` appends its text; a `step-start` notes where its step's text
   * begins; a `reset` with a `step` seen here truncates the text to where that step began, any other
   * `reset` empties it; anything else is ignored.
   *
   * @param event - any event, or anything with a `type` (a token's `text` must be a string; a
   *   `step` that is not a non-negative integer is ignored, so such a reset empties the text)
   * @returns `true` when the text may have changed (a token, or a reset)
   */
  add(event: { readonly type: string; readonly text?: unknown; readonly step?: unknown }): boolean {
    switch (event.type) {
      case 'token':
        if (typeof event.text !== 'string') return false;
        this.#text += event.text;
        return true;
      case 'step-start':
        if (isStep(event.step)) this.#stepStarts.set(event.step, this.#text.length);
        return false;
      case 'reset': {
        // A step we never saw start (a follower that joined late) cannot be cut back precisely:
        // showing none of the answer is safe, showing some of the discarded step is not.
        const step = event.step;
        const from = isStep(step) ? this.#stepStarts.get(step) : undefined;
        if (from === undefined) {
          this.clear();
          return true;
        }
        this.#text = this.#text.slice(0, from);
        // The step runs again from here; later steps (none, in a loop's order) would restart too.
        for (const later of this.#stepStarts.keys()) if (later > (step as number)) this.#stepStarts.delete(later);
        return true;
      }
      default:
        return false;
    }
  }

  /** Empties the text (a new answer starts). */
  clear(): void {
    this.#text = '';
    this.#stepStarts.clear();
  }

  /** The text so far. */
  get text(): string {
    return this.#text;
  }
}

/** A tool loop's step number: what a `step-start` or a step's `reset` carries. */
function isStep(step: unknown): step is number {
  return typeof step === 'number' && Number.isInteger(step) && step >= 0;
}
