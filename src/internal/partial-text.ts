/**
 * The one reset-aware accumulator of an answer's text (internal). Every part of tokenflow that
 * reports "the text so far" (errors' `partialText`, the hub's lost notices, the client session,
 * the bridge, the operators) folds events through this, so a `reset` (a retry started the answer
 * over) empties the text everywhere the same way.
 */
export class PartialText {
  #text = '';

  /**
   * Folds one event in: a `token` appends its text, a `reset` empties the text, anything else is
   * ignored.
   *
   * @param event - any event, or anything with a `type` (a token's `text` must be a string; others are ignored)
   * @returns `true` when the text changed (a token, or a reset)
   */
  add(event: { readonly type: string; readonly text?: unknown }): boolean {
    if (event.type === 'token') {
      if (typeof event.text !== 'string') return false;
      this.#text += event.text;
      return true;
    }
    if (event.type === 'reset') {
      this.#text = '';
      return true;
    }
    return false;
  }

  /** Empties the text (a new answer starts). */
  clear(): void {
    this.#text = '';
  }

  /** The text so far. */
  get text(): string {
    return this.#text;
  }
}
