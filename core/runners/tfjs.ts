// The runner for models built in TF.js in memory (TF.js layers models, Keras files): every step
// gets a model of its own from the job's one LayersSource, so the file is read once per job.
import { loadAll } from '../compress/factorSource.js';
import { factorProduct } from '../compress/factorize.js';
import type { Model } from '../types.js';
import { rewriteTopology } from '../formats/tfjs/layersWriter.js';
import type { LayersSource } from './layersSource.js';
import type { ModelRunner } from './runner.js';
import { tfjsFinetune } from './tfjsFinetune.js';
import { withJudge } from './tfjsJudge.js';
import { tfjsInputMoments } from './tfjsMoments.js';
import { tfjsSensitivity } from './tfjsSensitivity.js';

/** The layer kinds whose inputs TF.js lets us observe: Dense and Conv2D (tfjsMoments.ts). */
const OBSERVED = ['dense', 'conv2d'];

/**
 * `storedName`: a trained weight's name as the file stores it (a Keras file's HDF5 datasets);
 * absent, TF.js's own names, as a model.json manifest lists them.
 */
export function tfjsRunner(model: Model, source: LayersSource, storedName?: (layer: string, index: number) => string): ModelRunner {
  return {
    inputMoments: (x, opts) => tfjsInputMoments(source, model.layers.filter((l) => OBSERVED.includes(l.kind) && l.factorisable).map((l) => l.name), x, opts),
    judge: (x, fn) => withJudge(source, source.topology, x, (judge) => fn({
      classifier: judge.classifier,
      score: async (factors) => judge.score(await loadAll(factors)),
    })),
    sensitivity: (probes, x, opts) => tfjsSensitivity(source, probes.map(({ factors: f, discarded }) => (
      { name: f.layer.name, approx: factorProduct(f.a, f.b, f.layer.matrix.rows, f.layer.matrix.cols, f.rank), discarded })), x, opts),
    finetune: (factors, x, o, retrained) => tfjsFinetune(source, rewriteTopology(source.topology, factors, model.path), factors, x, { ...o, storedName }, retrained),
    dispose: () => source.dispose(),
  };
}
