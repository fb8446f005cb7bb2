import { mulberry32 } from './mulberry32.js';

/** Deterministic standard normal samples (Box–Muller): same input, same factors. */
export function gaussianSource(seed: number): () => number {
  const next = mulberry32(seed);
  const uniform = (): number => (next() + 0.5) / 4294967296;
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}
