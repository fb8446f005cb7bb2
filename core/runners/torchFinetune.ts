// Fine-tuning by distillation in the PyTorch runner: the worker trains the factors swapped into
// a copy of the user's module toward the original's outputs (python/torch_runner.py's
// Training); which training is kept is decided here, by the search every runner shares
// (compress/distil.ts's searchTraining).
import { FINETUNE_DEFAULTS, heldOut, searchTraining, type FinetuneOptions, type FinetuneResult } from '../compress/distil.js';
import { factorsInMemory } from '../compress/factorSource.js';
import type { Factorisation } from '../compress/types.js';
import type { Tensor } from '../eval/tensor.js';
import { checkpoint } from '../types.js';
import { factorArrays, inputArrays, type TorchRunnerProcess } from './torchProcess.js';

/** Trains `factors` (replaced in place by the kept training's) on the calibration inputs `x`, the last of them held out. */
export async function torchFinetune(p: TorchRunnerProcess, factors: Map<string, Factorisation>, x: Tensor, o: FinetuneOptions): Promise<FinetuneResult> {
  const arrays = [...await factorArrays(factorsInMemory(factors)), ...inputArrays(x)];
  const { before, classifier } = (await p.call('train_begin', { held: heldOut(x).shape[0] }, arrays, x.shape)).value;
  const result = await searchTraining(before, classifier, o, {
    async train(temperature, learningRate, done, runs) {
      await checkpoint(o.signal);
      o.progress?.report(done / runs, 'fine-tuning');
      const { value } = await p.call('train', {
        temperature, learningRate, steps: o.steps, batchSize: o.batchSize ?? FINETUNE_DEFAULTS.batchSize, seed: o.seed ?? FINETUNE_DEFAULTS.seed,
      });
      o.progress?.report((done + o.steps) / runs, 'fine-tuning');
      return value;
    },
    keep: async () => { await p.call('train_keep', {}); },
  });
  const kept = !result.discarded;
  const { arrays: trained } = await p.call('train_end', { keep: kept });
  for (const [name, f] of factors) {
    const bias = trained.get(`bias:${name}`) as Float32Array | undefined;
    factors.set(name, { ...f, a: trained.get(`a:${name}`) as Float32Array, b: trained.get(`b:${name}`) as Float32Array, ...(kept && bias ? { bias } : {}) });
  }
  return result;
}
