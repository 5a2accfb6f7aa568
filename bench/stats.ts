/**
 * The statistics the suites' reports share: medians, and how far a ratio of two medians of fresh
 * processes can be trusted.
 *
 * A suite's figure for a row is the median over its processes, and its ratio is that median over the
 * floor's. Fresh processes on this shared machine spread by a tenth to a half, so a ratio of 1.27
 * and one of 1.33 may be the same code. {@link ratioInterval} says how wide that uncertainty is,
 * from the run's own processes (a percentile bootstrap); the suites also run a second copy of the
 * floor under another name (`floor-again`), whose ratio to the floor shows the same thing directly:
 * the two rows run the same code, so any distance between them is the suite's noise.
 */

/** The median; `NaN` for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** mulberry32, seeded: the same interval for the same figures in every report. */
function generator(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A percentile bootstrap interval for `median(row) / median(base)`: both samples (one figure per
 * process) are resampled with replacement `resamples` times, and the interval holds the middle
 * `level` of the ratios. It is as good as the processes are alike and independent (their order is
 * shuffled every round, and the host's load is what it is); with five processes a row it is rough,
 * and it says so by being wide.
 *
 * @param row - the row's figure per process
 * @param base - the reference row's (the floor's) figure per process
 * @param level - the share of resampled ratios inside the interval (0.9: from the 5th to the 95th percentile)
 * @returns `[low, high]`, or `[NaN, NaN]` when either sample is empty
 */
export function ratioInterval(row: readonly number[], base: readonly number[], level = 0.9, resamples = 4000): [number, number] {
  if (row.length === 0 || base.length === 0) return [Number.NaN, Number.NaN];
  if (!(level > 0 && level < 1)) throw new RangeError(`ratioInterval: level must be between 0 and 1, got ${level}`);
  const random = generator(row.length * 7919 + base.length);
  const draw = (sample: readonly number[], into: number[]) => {
    for (let i = 0; i < sample.length; i++) into[i] = sample[Math.floor(random() * sample.length)]!;
    return median(into);
  };
  const a: number[] = new Array(row.length);
  const b: number[] = new Array(base.length);
  const ratios: number[] = [];
  for (let i = 0; i < resamples; i++) ratios.push(draw(row, a) / draw(base, b));
  ratios.sort((x, y) => x - y);
  const at = (q: number) => ratios[Math.min(ratios.length - 1, Math.max(0, Math.round(q * (ratios.length - 1))))]!;
  return [at((1 - level) / 2), at(1 - (1 - level) / 2)];
}

/**
 * How a ratio stands against a target `≤ target`, given its interval: `met` when even the interval's
 * top is within it, `missed` when even its bottom is above, and otherwise `within noise` with the
 * median's side (the run cannot tell).
 */
export function verdict(ratio: number, interval: readonly [number, number], target: number): 'met' | 'missed' | 'met, within noise' | 'missed, within noise' {
  const [low, high] = interval;
  if (!Number.isFinite(ratio)) return 'missed';
  if (!Number.isFinite(low) || !Number.isFinite(high)) return ratio <= target ? 'met' : 'missed';
  if (high <= target) return 'met';
  if (low > target) return 'missed';
  return ratio <= target ? 'met, within noise' : 'missed, within noise';
}
