// Sensitivity probes (sensitivity.ts) for ONNX and TF.js graph models: each layer alone is
// written factorised at its probe rank and run in the format's own runtime (runners/written.ts) —
// one write and one run of the model per factorised layer, its error measured on every output
// (fidelity.ts's FidelitySum), as candidates are judged.
import { firstRows, type Tensor } from '../eval/tensor.js';
import { checkpoint, type JobOptions } from '../types.js';
import { factorsInMemory } from '../compress/factorSource.js';
import type { VariantRunner } from './written.js';
import { sensitivityGain, sensitivitySamples } from '../compress/sensitivity.js';
import type { FactorProbe } from './runner.js';

type Variants = <T>(x: Tensor, fn: (runner: VariantRunner) => Promise<T>) => Promise<T | undefined>;

/** Each probe's gain by layer name; neutral (1) for all where the inputs do not fill one batch of a fixed-batch model. */
export async function writtenSensitivity(variants: Variants, probes: FactorProbe[], x: Tensor, opts: JobOptions = {}): Promise<Map<string, number>> {
  // The original's outputs on one input say how many values an input gives (a model of a larger
  // fixed batch keeps the input-value bound).
  const outputValues = await variants(firstRows(x, 1), async ({ original }) =>
    original.reduce((sum, o) => sum + o.data.length / Math.max(1, o.shape[0]), 0));
  const measured = await variants(firstRows(x, sensitivitySamples(x, outputValues)), async ({ compare }) => {
    const out = new Map<string, number>();
    for (const [i, p] of probes.entries()) {
      await checkpoint(opts.signal);
      const name = p.factors.layer.name;
      // Already relative to the original's outputs: ref2 = 1.
      const relative2 = p.discarded > 1e-12 ? (await compare(factorsInMemory(new Map([[name, p.factors]])))).relative2() : 0;
      out.set(name, sensitivityGain(relative2, 1, p.discarded));
      opts.progress?.report((i + 1) / probes.length, `probed ${name}`);
    }
    return out;
  });
  return measured ?? new Map(probes.map((p) => [p.factors.layer.name, 1]));
}
