// How a factorised model's outputs are judged against the original's on held-out inputs, in
// one place: every choice a job makes (whitened or plain factors, the refinement's moves, the
// distillation temperature, the training checkpoint, keeping trained weights at all) uses the
// same rule, so no choice can undo another by a different yardstick.
import type { Tensor } from '../eval/tensor.js';

export interface Fidelity { top1Agreement: number; relativeOutputError: number; samples: number }

/** Standard errors a difference in disagreement counts must exceed to count as real. */
const SIGNIFICANT = 2;

/**
 * Whether top-1 agreement tells `a` from `b` beyond sampling noise: the difference of their
 * disagreement counts against McNemar's standard error √(discordant inputs, those exactly one
 * of them gets wrong), bounded above by both counts of disagreements and both of agreements.
 * Candidates that differ on a handful of borderline inputs are near-identical models; their
 * output error, measured on every input, orders them far more reliably.
 */
function top1Differs(a: Fidelity, b: Fidelity): boolean {
  const n = Math.min(a.samples, b.samples);
  const da = (1 - a.top1Agreement) * n, db = (1 - b.top1Agreement) * n;
  const discordant = Math.min(da + db, 2 * n - da - db);
  return Math.abs(da - db) > SIGNIFICANT * Math.sqrt(discordant);
}

/**
 * Whether `a` is strictly better than `b` (judged on the same inputs). For a classifier, top-1
 * agreement decides where it differs beyond noise (accuracy follows it); otherwise, and for any
 * other model, the output error.
 */
export function better(a: Fidelity, b: Fidelity, classifier: boolean): boolean {
  if (classifier && top1Differs(a, b)) return a.top1Agreement > b.top1Agreement;
  return a.relativeOutputError < b.relativeOutputError;
}

export function argmax(d: Float32Array, row: number, width: number): number {
  let best = 0;
  for (let j = 1; j < width; j++) if (d[row * width + j] > d[row * width + best]) best = j;
  return best;
}

/** `b`'s fidelity to `a`, outputs of two models on the same inputs (rows = inputs, same layout). */
export function outputFidelity(a: Tensor, b: Tensor): Fidelity {
  const n = a.shape[0], width = a.data.length / n;
  let agree = 0, num = 0, den = 0;
  for (let i = 0; i < n; i++) if (argmax(a.data, i, width) === argmax(b.data, i, width)) agree++;
  for (let i = 0; i < a.data.length; i++) { const d = a.data[i] - b.data[i]; num += d * d; den += a.data[i] * a.data[i]; }
  return { top1Agreement: agree / n, relativeOutputError: den > 0 ? Math.sqrt(num / den) : Math.sqrt(num), samples: n };
}
