import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/internal/backoff.js';
import { describeValue, errorMessage } from '../src/internal/describe.js';
import { PartialText } from '../src/internal/partial-text.js';
import { retryAfterMs } from '../src/internal/retry-after.js';
import { requireString } from '../src/validate.js';

describe('PartialText (the one reset-aware accumulator)', () => {
  it('appends tokens, empties on reset, ignores everything else', () => {
    const p = new PartialText();
    expect(p.add({ type: 'start' })).toBe(false);
    expect(p.add({ type: 'token', text: 'A0 ' })).toBe(true);
    expect(p.add({ type: 'token', text: 'A1' })).toBe(true);
    expect(p.text).toBe('A0 A1');
    expect(p.add({ type: 'reset' })).toBe(true);
    expect(p.text).toBe('');
    p.add({ type: 'token', text: 'B0' });
    p.add({ type: 'usage' });
    expect(p.text).toBe('B0');
  });

  it('never folds a token whose text is not a string', () => {
    const p = new PartialText();
    p.add({ type: 'token', text: 'x' });
    expect(p.add({ type: 'token', text: 42 })).toBe(false);
    expect(p.add({ type: 'token' })).toBe(false);
    expect(p.text).toBe('x');
    p.clear();
    expect(p.text).toBe('');
  });

  it("a reset tagged with a tool loop's step cuts back to that step's start; earlier steps stand", () => {
    const p = new PartialText();
    p.add({ type: 'step-start', step: 0 });
    p.add({ type: 'token', text: 'Let me check.' });
    p.add({ type: 'step-finish', step: 0 });
    p.add({ type: 'step-start', step: 1 });
    p.add({ type: 'token', text: 'Sun' });
    expect(p.add({ type: 'reset', step: 1 })).toBe(true);
    expect(p.text).toBe('Let me check.');
    p.add({ type: 'token', text: 'Sunny.' });
    expect(p.text).toBe('Let me check.Sunny.');
    // The step runs again after its reset: a second reset of it cuts back to the same place.
    p.add({ type: 'reset', step: 1 });
    expect(p.text).toBe('Let me check.');
  });

  it('a reset without a step, or for a step it never saw start, empties everything', () => {
    const p = new PartialText();
    p.add({ type: 'step-start', step: 0 });
    p.add({ type: 'token', text: 'A' });
    p.add({ type: 'reset' });
    expect(p.text).toBe('');
    p.add({ type: 'step-start', step: 0 });
    p.add({ type: 'token', text: 'B' });
    // A follower that joined at step 2 cannot know where step 2 began.
    p.add({ type: 'reset', step: 2 });
    expect(p.text).toBe('');
    p.add({ type: 'token', text: 'C' });
    p.add({ type: 'reset', step: 'zero' });
    expect(p.text).toBe('');
  });

  it('a whole reset (and clear()) forgets where the steps began', () => {
    const p = new PartialText();
    p.add({ type: 'step-start', step: 0 });
    p.add({ type: 'token', text: 'A' });
    p.add({ type: 'step-start', step: 1 });
    p.add({ type: 'token', text: 'B' });
    p.add({ type: 'reset' });
    p.add({ type: 'token', text: 'X' });
    // Step 1's old start (at length 1) would keep the X of the new answer: it must be forgotten.
    p.add({ type: 'reset', step: 1 });
    expect(p.text).toBe('');
    p.add({ type: 'step-start', step: 0 });
    p.add({ type: 'token', text: 'Y' });
    p.clear();
    p.add({ type: 'token', text: 'Z' });
    p.add({ type: 'reset', step: 0 });
    expect(p.text).toBe('');
  });
});

describe('describeValue / errorMessage', () => {
  it('names each kind of value once (no "undefined undefined")', () => {
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(null)).toBe('null');
    expect(describeValue([1])).toBe('an array');
    expect(describeValue(3)).toBe('the number 3');
    expect(describeValue(() => 1)).toBe('a function');
    expect(describeValue({})).toBe('an object');
    expect(describeValue(true)).toBe('boolean true');
    expect(describeValue('x'.repeat(80), 10)).toBe(`the string "${'x'.repeat(10)}…"`);
  });

  it('a missing required string says "got undefined" once', () => {
    expect(() => requireString(undefined, 'request.model')).toThrow(/request\.model must be a non-empty string, got undefined\.$/);
  });

  it('errorMessage reads an Error or stringifies', () => {
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage('plain')).toBe('plain');
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it('reads delay-seconds, decimals included', () => {
    expect(retryAfterMs('3', now)).toBe(3_000);
    expect(retryAfterMs(' 1.5 ', now)).toBe(1_500);
    expect(retryAfterMs('0', now)).toBe(0);
  });
  it('reads an HTTP date, never negative', () => {
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:10 GMT', now)).toBe(10_000);
    expect(retryAfterMs('Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
  });
  it('is undefined when absent, blank, negative or unreadable', () => {
    for (const v of [null, undefined, '', '  ', '-3', 'soon']) expect(retryAfterMs(v, now)).toBeUndefined();
  });
});

describe('backoffDelay', () => {
  const policy = { initialMs: 100, factor: 2, maxMs: 1_000, jitter: false };
  it('grows exponentially up to maxMs', () => {
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(policy, a))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });
  it('with jitter draws from the upper half of the delay', () => {
    const jittered = { ...policy, jitter: true };
    expect(backoffDelay(jittered, 2, () => 0)).toBe(200);
    expect(backoffDelay(jittered, 2, () => 0.5)).toBe(300);
    expect(backoffDelay(jittered, 2, () => 0.999)).toBeCloseTo(399.8);
    const draws = new Set(Array.from({ length: 20 }, () => backoffDelay(jittered, 3)));
    expect(draws.size).toBeGreaterThan(1);
    for (const d of draws) expect(d >= 400 && d <= 800).toBe(true);
  });
});
