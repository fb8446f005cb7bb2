// How a factorised model's outputs are judged against the original's on held-out inputs, in
// one place: every choice a job makes (whitened or plain factors, the distillation temperature,
// the training checkpoint, keeping trained weights at all) uses the same rule, so no choice can
// undo another by a different yardstick.

export interface Fidelity { top1Agreement: number; relativeOutputError: number; samples: number }

/**
 * Whether `a` is strictly better than `b`. For a classifier, top-1 agreement decides (accuracy
 * follows it; the output error also weighs how the probabilities of wrong classes are spread),
 * ties fall to the output error; otherwise the output error alone.
 */
export function better(a: Fidelity, b: Fidelity, classifier: boolean): boolean {
  if (classifier && a.top1Agreement !== b.top1Agreement) return a.top1Agreement > b.top1Agreement;
  return a.relativeOutputError < b.relativeOutputError;
}
