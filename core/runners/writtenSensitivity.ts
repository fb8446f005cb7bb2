// Sensitivity probes (sensitivity.ts) for ONNX and TF.js graph models: each layer alone is
// written factorised at its probe rank and run in the format's own runtime (runners/written.ts) —
// one write and one run of the model per factorised layer.
import { firstRows, type Tensor } from '../eval/tensor.js';
import { checkpoint, type JobOptions } from '../types.js';
import { factorsInMemory } from '../compress/factorSource.js';
import type { VariantRunner } from './written.js';
import { sensitivityGain, sensitivitySamples } from '../compress/sensitivity.js';
import type { FactorProbe } from './runner.js';

type Variants = <T>(x: Tensor, fn: (runner: VariantRunner) => Promise<T>) => Promise<T | undefined>;

function sumSquares(d: Float32Array, minus?: Float32Array): number {
  let s = 0;
  for (let i = 0; i < d.length; i++) { const v = d[i] - (minus ? minus[i] : 0); s += v * v; }
  return s;
}

/** Each probe's gain by layer name; neutral (1) for all where the inputs do not fill one batch of a fixed-batch model. */
export async function writtenSensitivity(variants: Variants, probes: FactorProbe[], x: Tensor, opts: JobOptions = {}): Promise<Map<string, number>> {
  const measured = await variants(firstRows(x, sensitivitySamples(x)), async ({ original, run }) => {
    const ref2 = sumSquares(original.data);
    const out = new Map<string, number>();
    for (const [i, p] of probes.entries()) {
      await checkpoint(opts.signal);
      const name = p.factors.layer.name;
      const err2 = p.discarded > 1e-12 ? sumSquares((await run(factorsInMemory(new Map([[name, p.factors]])))).data, original.data) : 0;
      out.set(name, sensitivityGain(err2, ref2, p.discarded));
      opts.progress?.report((i + 1) / probes.length, `probed ${name}`);
    }
    return out;
  });
  return measured ?? new Map(probes.map((p) => [p.factors.layer.name, 1]));
}
