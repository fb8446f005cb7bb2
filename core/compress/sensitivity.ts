// How much each layer's approximation error reaches the model's output, measured on
// calibration inputs. A layer's spectrum says how much of *its own* output (or weight) a rank
// discards; the model output can amplify or absorb that error depending on what follows
// (ReLUs, later layers, the softmax). The global allocator weights each layer's discarded
// energy share by this gain, so it spends parameters where the model output needs them.
// Measured in TF.js (runners/tfjsSensitivity.ts) or, for ONNX and TF.js graph models, by running
// written variants in the format's own runtime (runners/writtenSensitivity.ts).

/** Calibration inputs a probe runs on: enough for a stable ratio, few enough to stay cheap. */
export const SENSITIVITY_SAMPLES = 2000;

/**
 * The gain of one probe: (‖ΔY‖²/‖Y‖² of the model output with only that layer approximated) ÷
 * the share of the layer's spectrum energy the approximation discards, i.e. the model output
 * error per unit of the layer's own discarded energy. Neutral (1) where nothing is discarded
 * or the output is zero.
 */
export function sensitivityGain(err2: number, ref2: number, discarded: number): number {
  return discarded > 1e-12 && ref2 > 0 ? err2 / ref2 / discarded : 1;
}
