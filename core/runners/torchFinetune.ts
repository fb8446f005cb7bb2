// Fine-tuning by distillation in the PyTorch runner: the worker trains the factors swapped into
// a copy of the user's module toward the original's outputs (python/torch_runner.py's
// Training); which training is kept is decided here, by the search every runner shares
// (compress/distil.ts's searchTraining).
import { FINETUNE_DEFAULTS, heldOut, reportStep, rowsWithin, searchTraining, type FinetuneOptions, type FinetuneResult } from '../compress/distil.js';
import { factorsInMemory } from '../compress/factorSource.js';
import type { Factorisation } from '../compress/types.js';
import type { Tensor } from '../eval/tensor.js';
import { checkpoint } from '../types.js';
import { factorArrays, inputArrays, type TorchRunnerProcess } from './torchProcess.js';

/** Steps one request runs are sized to take about this long: progress and cancellation come between requests. */
const SLICE_MS = 500;

/**
 * Trains `factors` (replaced in place by the kept training's) on the calibration inputs `x`, the
 * last of them held out. `also`: stored tensors trained too (an ONNX graph's biases and dense
 * layers), their kept values put into `retrained`.
 */
export async function torchFinetune(p: TorchRunnerProcess, factors: Map<string, Factorisation>, x: Tensor, o: FinetuneOptions,
  also: { names: string[]; retrained: Map<string, Float32Array> } = { names: [], retrained: new Map() }): Promise<FinetuneResult> {
  const arrays = [...await factorArrays(factorsInMemory(factors)), ...inputArrays(x)];
  const { before, classifier } = (await p.call('train_begin', { held: heldOut(x).shape[0], alsoTrained: also.names }, arrays, x.shape)).value;
  // Minibatch rows bounded by their values, as in TF.js (distil.ts): 256 Fashion-MNIST images, 9 of PaddleOCR's 3×48×192 crops.
  const batchSize = rowsWithin(o.batchSize ?? FINETUNE_DEFAULTS.batchSize, x.data.length / Math.max(1, x.shape[0]));
  const result = await searchTraining(before, classifier, o, {
    async train(temperature, learningRate, done, runs) {
      await p.call('train', {
        temperature, learningRate, steps: o.steps, batchSize, seed: o.seed ?? FINETUNE_DEFAULTS.seed,
      });
      // The first slice is one step; each next one is sized from the last's time per step.
      for (let step = 0, count = 1; step < o.steps;) {
        await checkpoint(o.signal);
        const slice = Math.min(count, o.steps - step), t0 = performance.now();
        await p.call('train_steps', { count: slice });
        step += slice;
        reportStep(o, done + step, runs);
        count = Math.max(1, Math.min(2 * slice, Math.round(SLICE_MS * slice / Math.max(performance.now() - t0, 1e-3))));
      }
      return (await p.call('train_score', {})).value;
    },
    keep: async () => { await p.call('train_keep', {}); },
  });
  const kept = !result.discarded;
  const { arrays: trained } = await p.call('train_end', { keep: kept });
  if (kept) for (const name of also.names) also.retrained.set(name, trained.get(`t:${name}`) as Float32Array);
  for (const [name, f] of factors) {
    const bias = trained.get(`bias:${name}`) as Float32Array | undefined;
    factors.set(name, { ...f, a: trained.get(`a:${name}`) as Float32Array, b: trained.get(`b:${name}`) as Float32Array, ...(kept && bias ? { bias } : {}) });
  }
  return result;
}
