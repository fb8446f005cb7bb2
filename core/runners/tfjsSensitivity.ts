// Sensitivity probes (sensitivity.ts) run in TF.js: each layer's weight is swapped in place for
// its approximation, the model run, and the original put back.
import type { Tensor } from '../eval/tensor.js';
import { tfjs } from '../formats/tfjs/runtime.js';
import { checkpoint, type JobOptions } from '../types.js';
import type { LayersSource } from './layersSource.js';
import { sensitivityGain, sensitivitySamples } from '../compress/sensitivity.js';

export interface SensitivityProbe {
  name: string;
  /** The layer's weight matrix replaced by its approximation at the probe rank (rows×cols, row-major = the kernel's layout). */
  approx: Float32Array;
  /** Share of the layer's spectrum energy that approximation discards (Σ_{i>k}σ²/Σσ²). */
  discarded: number;
}

/** Each probe's gain (sensitivityGain). */
export async function tfjsSensitivity(source: LayersSource, probes: SensitivityProbe[], x: Tensor, opts: JobOptions = {}): Promise<Map<string, number>> {
  const tf = await tfjs();
  const { model } = await source.load();
  const n = sensitivitySamples(x);
  const per = x.data.length / x.shape[0];
  const xs = tf.tensor(x.data.subarray(0, n * per), [n, ...x.shape.slice(1)]);
  const reference = model.predict(xs, { batchSize: 1000 }) as import('@tensorflow/tfjs').Tensor;
  try {
    const refNorm2 = tf.tidy(() => tf.sum(tf.square(reference)).dataSync()[0]);
    const out = new Map<string, number>();
    for (const p of probes) {
      await checkpoint(opts.signal);
      if (!(p.discarded > 1e-12)) { out.set(p.name, 1); continue; }
      const layer = model.getLayer(p.name);
      // getWeights() hands out the layer's variables themselves, which setWeights overwrites: the
      // original values are copied, or every later probe would run with this layer approximated too.
      const original = layer.getWeights().map((w) => w.clone());
      const approx = tf.tensor(p.approx, original[0].shape);
      layer.setWeights([approx, ...original.slice(1)]);
      const err2 = tf.tidy(() => tf.sum(tf.square(tf.sub(model.predict(xs, { batchSize: 1000 }) as import('@tensorflow/tfjs').Tensor, reference))).dataSync()[0]);
      layer.setWeights(original);
      tf.dispose([approx, ...original]);
      out.set(p.name, sensitivityGain(err2, refNorm2, p.discarded));
    }
    return out;
  } finally {
    tf.dispose([xs, reference]);
    model.dispose();
  }
}
