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
  const at = row * width;
  let best = 0, top = d[at];
  for (let j = 1; j < width; j++) if (d[at + j] > top) { top = d[at + j]; best = j; }
  return best;
}

/**
 * The top-1 of every position of an original's output, found once: every candidate of a job is
 * compared with the same original outputs (the recogniser's 34 lines × 40 steps × 6 625 scores,
 * 73 times).
 */
const originalTops = new WeakMap<Float32Array, Int32Array>();
function topsOf(data: Float32Array, width: number): Int32Array {
  let tops = originalTops.get(data);
  if (!tops) {
    tops = new Int32Array(data.length / width);
    for (let p = 0; p < tops.length; p++) tops[p] = argmax(data, p, width);
    originalTops.set(data, tops);
  }
  return tops;
}

/** `b`'s fidelity to `a`, outputs of two models on the same inputs (rows = inputs, same layout). */
export function outputFidelity(a: Tensor, b: Tensor): Fidelity {
  return outputsFidelity([a], [b]);
}

/**
 * Whether a model's outputs are class scores, so top-1 agreement is worth weighing first
 * (`better`): every output gives each input a row of scores ([n, classes > 1]).
 */
export function classScores(outputs: readonly Tensor[]): boolean {
  return outputs.length > 0 && outputs.every((o) => o.shape.length === 2 && (o.shape[1] ?? 0) > 1);
}

/**
 * `b`'s agreement with `a` summed piece by piece: `add` takes a model's outputs on the next
 * inputs (whole inputs, in order; each output's rows = inputs), so a candidate's outputs are
 * never held whole. The sums run in the same order as over whole outputs, so the figures are the
 * same numbers (outputsFidelity is one piece of it).
 */
export class FidelitySum {
  private readonly num: number[];
  private readonly den: number[];
  private agree = 0;
  private rows = 0;
  private readonly n: number;
  /** Scores each output gives a position: its last axis (a sequence output scores every step). */
  private readonly classes: number[];

  constructor(private readonly a: readonly Tensor[]) {
    this.num = a.map(() => 0);
    this.den = a.map(() => 0);
    this.n = a[0]?.shape[0] ?? 0;
    this.classes = a.map((ya) => (ya.shape.length > 1 ? ya.shape[ya.shape.length - 1] : 1));
  }

  add(b: readonly Tensor[]): void {
    const { a } = this;
    if (a.length !== b.length || a.length === 0) throw new Error(`outputs compared: ${a.length} against ${b.length}`);
    const rows = b[0].shape[0], from = this.rows;
    const widths = a.map((ya) => ya.data.length / this.n);
    for (const [o, ya] of a.entries()) {
      const yb = b[o].data, offset = from * widths[o];
      let num = this.num[o], den = this.den[o];
      for (let i = 0; i < yb.length; i++) { const y = ya.data[offset + i]; const d = y - yb[i]; num += d * d; den += y * y; }
      this.num[o] = num;
      this.den[o] = den;
    }
    for (let i = 0; i < rows; i++) {
      // An input's agreement is the share of its positions whose top-1 agrees, in its worst output.
      this.agree += Math.min(...a.map((ya, o) => {
        const c = this.classes[o], positions = widths[o] / c, tops = topsOf(ya.data, c);
        let same = 0;
        for (let p = 0; p < positions; p++) {
          if (tops[(from + i) * positions + p] === argmax(b[o].data, i * positions + p, c)) same++;
        }
        return same / positions;
      }));
    }
    this.rows += rows;
  }

  /**
   * The mean over outputs of ‖aₒ − bₒ‖² / ‖aₒ‖² (‖aₒ − bₒ‖² where aₒ is zero): each output is
   * measured against its own size, so a head that is small or few-valued beside another still
   * counts in full. Judged on one output, the layers feeding only the others look free and are
   * cut to rank 1 (Basic Pitch's note and onset heads, behind its contour output). The square of
   * `relativeOutputError`; the sensitivity probes' output error (sensitivity.ts).
   */
  relative2(): number {
    let sum = 0;
    for (let o = 0; o < this.a.length; o++) sum += this.den[o] > 0 ? this.num[o] / this.den[o] : this.num[o];
    return sum / this.a.length;
  }

  /**
   * Top-1 agreement: an input of class-score outputs agrees when every output's top-1 agrees; one
   * of sequence outputs ([n, steps, classes]) counts the share of steps that agree (a text line's
   * characters), as tensorFidelity (distil.ts) and the PyTorch runner count. The output error is
   * relative2's root.
   */
  fidelity(): Fidelity {
    return { top1Agreement: this.agree / this.n, relativeOutputError: Math.sqrt(this.relative2()), samples: this.n };
  }
}

/**
 * `b`'s fidelity to `a` on every output of two models run on the same inputs (each output's
 * rows = inputs, same layout in both): FidelitySum's top-1 agreement and its relative2, rooted.
 * With one output of class scores, ‖y − y'‖/‖y‖ and plain top-1.
 */
export function outputsFidelity(a: readonly Tensor[], b: readonly Tensor[]): Fidelity {
  const sum = new FidelitySum(a);
  sum.add(b);
  return sum.fidelity();
}
