// Streaming input statistics of Dense layers of a TF.js layers model on calibration inputs:
// C_l = X_lᵀX_l / N accumulated batch by batch in f64, never holding all activations.
// Keras files come here too, through the TF.js model their config builds (`load`).
import type { LayersModel } from '@tensorflow/tfjs';
import type { Tensor } from '../eval/tensor.js';
import { loadTfjsLayersModel, tfjs } from '../eval/tfjsRuntime.js';
import { InputError, throwIfAborted, type JobOptions } from '../types.js';
import { MomentAccumulator, type InputMoments } from './moments.js';

export async function tfjsInputMoments(modelPath: string, layers: string[], x: Tensor, opts: JobOptions = {}, load: (path: string) => Promise<LayersModel> = loadTfjsLayersModel, batch = 500): Promise<Map<string, InputMoments>> {
  const tf = await tfjs();
  const model = await load(modelPath);
  try {
    const inputs = layers.map((name) => {
      const layer = model.getLayer(name);
      const input = layer.input;
      if (Array.isArray(input)) throw new InputError(modelPath, `layer ${name} has several inputs; whitening needs one`);
      if (input.shape.length !== 2) throw new InputError(modelPath, `layer ${name}: whitening supports Dense layers on 2-D inputs`);
      return input;
    });
    const probe = tf.model({ inputs: model.inputs, outputs: inputs });
    const acc = inputs.map((t) => new MomentAccumulator(t.shape[1] as number));
    const n = x.shape[0];
    const per = x.data.length / n;
    for (let start = 0; start < n; start += batch) {
      throwIfAborted(opts.signal);
      const end = Math.min(n, start + batch);
      tf.tidy(() => {
        const xb = tf.tensor(x.data.subarray(start * per, end * per), [end - start, ...x.shape.slice(1)]);
        const outs = probe.predict(xb) as import('@tensorflow/tfjs').Tensor | import('@tensorflow/tfjs').Tensor[];
        (Array.isArray(outs) ? outs : [outs]).forEach((o, i) => {
          acc[i].addSamples(o.dataSync() as Float32Array);
        });
      });
      opts.progress?.report(end / n, 'calibration statistics');
    }
    return new Map(layers.map((name, i) => [name, acc[i].moments()]));
  } finally {
    model.dispose();
  }
}
