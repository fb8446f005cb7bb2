// The one seeded generator behind every deterministic random vector (same input, same
// factors): mulberry32, small and fast, good enough for starting vectors and test data.

/** Successive 32-bit unsigned integers from `seed`. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
