// Per-layer rank arithmetic: storage of a rank-k factorisation, break-even, energy.

/** Parameters of W ≈ A·B with A m×k and B k×n. */
export function factoredParams(rows: number, cols: number, rank: number): number {
  return rank * (rows + cols);
}

/** Largest k with k·(m+n) < m·n: beyond it a factorisation stores more than the dense matrix. */
export function breakEvenRank(rows: number, cols: number): number {
  const k = Math.ceil((rows * cols) / (rows + cols)) - 1;
  return Math.max(0, Math.min(k, Math.min(rows, cols)));
}

/** cumulative[k] = share of Σσ² kept by the first k singular values (cumulative[0] = 0). */
export function cumulativeEnergy(sigma: ArrayLike<number>): Float64Array {
  const out = new Float64Array(sigma.length + 1);
  let total = 0;
  for (let i = 0; i < sigma.length; i++) total += sigma[i] * sigma[i];
  let acc = 0;
  for (let i = 0; i < sigma.length; i++) {
    acc += sigma[i] * sigma[i];
    out[i + 1] = total > 0 ? acc / total : 1;
  }
  return out;
}

/** Smallest k whose kept energy is ≥ energy. */
export function rankForEnergy(sigma: ArrayLike<number>, energy: number): number {
  const cum = cumulativeEnergy(sigma);
  for (let k = 1; k < cum.length; k++) if (cum[k] >= energy - 1e-12) return k;
  return sigma.length;
}

/**
 * The rank we suggest: the energy rank, or min(m,n) ("leave dense") when that rank would
 * not store fewer parameters than the dense matrix.
 */
export function suggestedRank(sigma: ArrayLike<number>, rows: number, cols: number, energy: number): number {
  const k = rankForEnergy(sigma, energy);
  return k <= breakEvenRank(rows, cols) ? k : Math.min(rows, cols);
}

/** Relative Frobenius error ‖W − W_k‖/‖W‖ of the best rank-k approximation. */
export function relativeError(sigma: ArrayLike<number>, rank: number): number {
  const cum = cumulativeEnergy(sigma);
  const k = Math.min(rank, sigma.length);
  return Math.sqrt(Math.max(0, 1 - cum[k]));
}

/** Parameters a layer stores at a rank; rank ≥ min(m,n) means it stays dense. */
export function paramsAtRank(rows: number, cols: number, rank: number): number {
  return rank >= Math.min(rows, cols) ? rows * cols : factoredParams(rows, cols, rank);
}

/** The parameters a written model keeps before any layer is cut: each tensor the file repeats, once. */
export function distinctParams(model: { totalParams: number; sharedParams?: number }): number {
  return model.totalParams - (model.sharedParams ?? 0);
}
