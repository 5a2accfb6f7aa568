/** Seeded randomness for the mock provider, so every run of a test sees the same splits and delays. */

/** A small, fast, seeded PRNG (mulberry32): returns floats in [0, 1). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A value of a fixed number or drawn uniformly from a `[min, max]` range. */
export function draw(value: number | readonly [number, number], random: () => number): number {
  if (typeof value === 'number') return value;
  const [min, max] = value;
  return min + (max - min) * random();
}

/**
 * Splits bytes into pieces of 1 to `maxBytes` bytes. Pieces cut through multi-byte UTF-8
 * characters wherever they fall: that is the point.
 */
export function splitBytes(bytes: Uint8Array, maxBytes: number, random: () => number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(random() * Math.max(1, maxBytes));
    pieces.push(bytes.subarray(at, at + size));
    at += size;
  }
  return pieces;
}
