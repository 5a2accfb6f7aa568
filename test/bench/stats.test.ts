/**
 * bench/stats.ts: the medians and ratio intervals the benchmark reports give beside their targets.
 * Benchmarks are never run in tests; their arithmetic is.
 */
import { describe, expect, it } from 'vitest';
import { median, ratioInterval, verdict } from '../../bench/stats.js';

describe('bench statistics', () => {
  it('median: the middle value, the mean of the two middle ones, NaN for none', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('the ratio interval of a row against itself holds 1 and is as wide as the spread', () => {
    const spread = [8.9, 9.4, 10.1, 8.7, 12.3, 9.0, 9.8, 11.0, 8.8];
    const [low, high] = ratioInterval(spread, spread);
    expect(low).toBeLessThan(1);
    expect(high).toBeGreaterThan(1);
    // Identical processes give an interval of exactly 1.
    expect(ratioInterval([5, 5, 5], [5, 5, 5])).toEqual([1, 1]);
  });

  it('a row clearly twice the floor has an interval around 2 that leaves out 1, the same in every call', () => {
    const floor = [5.0, 5.2, 4.9, 5.1, 5.3, 4.8, 5.0];
    const row = floor.map((v) => v * 2);
    const interval = ratioInterval(row, floor);
    expect(interval[0]).toBeGreaterThan(1.8);
    expect(interval[1]).toBeLessThan(2.2);
    expect(ratioInterval(row, floor)).toEqual(interval);
    // A wider level gives an interval at least as wide.
    const wide = ratioInterval(row, floor, 0.99);
    expect(wide[0]).toBeLessThanOrEqual(interval[0]);
    expect(wide[1]).toBeGreaterThanOrEqual(interval[1]);
  });

  it('no processes give no interval; a level outside (0, 1) is refused', () => {
    expect(ratioInterval([], [1, 2])).toEqual([NaN, NaN]);
    expect(() => ratioInterval([1], [1], 1)).toThrow(/level/);
  });

  it('verdict: met or missed when the interval is clear of the target, "within noise" when it holds it', () => {
    expect(verdict(1.1, [1.05, 1.2], 1.3)).toBe('met');
    expect(verdict(1.4, [1.35, 1.5], 1.3)).toBe('missed');
    expect(verdict(1.25, [1.1, 1.4], 1.3)).toBe('met, within noise');
    expect(verdict(1.35, [1.2, 1.45], 1.3)).toBe('missed, within noise');
    expect(verdict(1.2, [NaN, NaN], 1.3)).toBe('met');
    expect(verdict(NaN, [1, 1.1], 1.3)).toBe('missed');
  });
});
