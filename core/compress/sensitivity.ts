// How much each layer's approximation error reaches the model's output, measured on
// calibration inputs. A layer's spectrum says how much of *its own* output (or weight) a rank
// discards; the model output can amplify or absorb that error depending on what follows
// (ReLUs, later layers, the softmax). The global allocator weights each layer's discarded
// energy share by this gain, so it spends parameters where the model output needs them.
// Measured in TF.js (runners/tfjsSensitivity.ts) or, for ONNX and TF.js graph models, by running
// written variants in the format's own runtime (runners/writtenSensitivity.ts).

import type { Tensor } from '../eval/tensor.js';

/** Calibration inputs a probe runs on: enough for a stable ratio, few enough to stay cheap. */
export const SENSITIVITY_SAMPLES = 2000;

/**
 * At most `count` inputs, and no more input values than `count` Fashion-MNIST images (784 values)
 * hold, at least 32: steps that run the model once per candidate stay cheap on large inputs too
 * (2 000 text lines of 48×320 pixels took PaddleOCR's recogniser 15 s per probe on two cores,
 * and it has ninety layers to probe).
 */
export function inputsWorth(count: number, valuesPerInput: number): number {
  return Math.min(count, Math.max(32, Math.floor((count * 784) / valuesPerInput)));
}

/**
 * Output values a probe's error is measured on, where the inputs allow: the input-value bound
 * leaves a model with large inputs and small outputs few numbers to compare. PaddleOCR's
 * orientation classifier (48×192 pixels in, 2 scores out) got 56 inputs, 112 scores, and its
 * whitened plan at --ratio 0.5 read 85.4 %; with the probes on all 270, 91.2 % (98.6 % uncompressed).
 */
const PROBE_OUTPUT_VALUES = 20_000;

/** How many times the input-value bound small outputs may raise the count (each input costs a run). */
const OUTPUT_RAISE = 8;

/**
 * How far the bound is lowered where one input's outputs alone pass PROBE_OUTPUT_VALUES. The
 * recogniser's text lines give 265 000 scores each (40 steps × 6 625 classes): its probes on 17
 * lines instead of 34 made a plan that read 93.21 % against 93.01 %, and took 3 s less of 60.
 */
const OUTPUT_LOWER = 2;

/**
 * How many of the calibration inputs `x` the probes run on: the input-value bound, raised
 * toward PROBE_OUTPUT_VALUES when the model's outputs per input (`outputValues`) are few, halved
 * when one input's outputs pass it.
 */
export function sensitivitySamples(x: Tensor, outputValues?: number): number {
  const bound = inputsWorth(SENSITIVITY_SAMPLES, x.data.length / Math.max(1, x.shape[0]));
  if (outputValues && outputValues >= PROBE_OUTPUT_VALUES) return Math.min(x.shape[0], Math.ceil(bound / OUTPUT_LOWER));
  const wanted = outputValues ? Math.min(SENSITIVITY_SAMPLES, OUTPUT_RAISE * bound, Math.ceil(PROBE_OUTPUT_VALUES / outputValues)) : 0;
  return Math.min(x.shape[0], Math.max(bound, wanted));
}

/**
 * The gain of one probe: (‖ΔY‖²/‖Y‖² of the model output with only that layer approximated) ÷
 * the share of the layer's spectrum energy the approximation discards, i.e. the model output
 * error per unit of the layer's own discarded energy. Neutral (1) where nothing is discarded
 * or the output is zero.
 */
export function sensitivityGain(err2: number, ref2: number, discarded: number): number {
  return discarded > 1e-12 && ref2 > 0 ? err2 / ref2 / discarded : 1;
}
