// Streaming input statistics of Dense layers of a TF.js layers model on calibration inputs:
// C_l = X_lᵀX_l / N accumulated batch by batch in f64, never holding all activations.
// Only the first MOMENT_SAMPLES inputs are used: the second moments of a few thousand inputs
// already give whitened factors as good as 60 000 do (measured on Fashion-MNIST), while
// distillation (finetuneTfjs) keeps gaining from every input, so callers pass them all.
import type { Tensor } from '../eval/tensor.js';
import { loadTfjsLayersModel, tfjs } from '../eval/tfjsRuntime.js';
import { InputError, throwIfAborted, type JobOptions } from '../types.js';

export const MOMENT_SAMPLES = 10_000;

export interface InputMoments { dim: number; samples: number; c: Float64Array }

export async function tfjsInputMoments(modelPath: string, layers: string[], x: Tensor, opts: JobOptions = {}, batch = 500): Promise<Map<string, InputMoments>> {
  const tf = await tfjs();
  const model = await loadTfjsLayersModel(modelPath);
  try {
    const inputs = layers.map((name) => {
      const layer = model.getLayer(name);
      const input = layer.input;
      if (Array.isArray(input)) throw new InputError(modelPath, `layer ${name} has several inputs; whitening needs one`);
      if (input.shape.length !== 2) throw new InputError(modelPath, `layer ${name}: whitening supports Dense layers on 2-D inputs`);
      return input;
    });
    const probe = tf.model({ inputs: model.inputs, outputs: inputs });
    const dims = inputs.map((t) => t.shape[1] as number);
    const acc = dims.map((d) => new Float64Array(d * d));
    const n = Math.min(x.shape[0], MOMENT_SAMPLES);
    const per = x.data.length / x.shape[0];
    for (let start = 0; start < n; start += batch) {
      throwIfAborted(opts.signal);
      const end = Math.min(n, start + batch);
      tf.tidy(() => {
        const xb = tf.tensor(x.data.subarray(start * per, end * per), [end - start, ...x.shape.slice(1)]);
        const outs = probe.predict(xb) as import('@tensorflow/tfjs').Tensor | import('@tensorflow/tfjs').Tensor[];
        (Array.isArray(outs) ? outs : [outs]).forEach((o, i) => {
          // One batch's Gram in f32 is accurate to ~1e-7 relative; batches are summed in f64.
          const g = tf.matMul(o as import('@tensorflow/tfjs').Tensor2D, o as import('@tensorflow/tfjs').Tensor2D, true, false).dataSync();
          const a = acc[i];
          for (let j = 0; j < a.length; j++) a[j] += g[j];
        });
      });
      opts.progress?.report(end / n, 'calibration statistics');
    }
    return new Map(layers.map((name, i) => {
      const c = acc[i];
      for (let j = 0; j < c.length; j++) c[j] /= n;
      return [name, { dim: dims[i], samples: n, c }];
    }));
  } finally {
    model.dispose();
  }
}
