// Streaming input statistics of Dense and Conv2D layers of a TF.js layers model on calibration
// inputs: C_l = X_lᵀX_l / N accumulated batch by batch in f64, never holding all activations.
// For a Conv2D layer X_l holds its input *patches* (patches.ts: one row per output position, in
// the kernel's (kh, kw, cin) order), so y = patch·W exactly as for Dense and whitening is the same.
// Keras files come here too, through the TF.js model their config builds (runners/layersSource.ts).
import type { Tensor } from '../eval/tensor.js';
import { tfjs } from '../formats/tfjs/runtime.js';
import { InputError, checkpoint, type JobOptions } from '../types.js';
import type { LayersSource } from './layersSource.js';
import { MomentAccumulator, type InputMoments } from '../compress/moments.js';
import { patchRows, type ConvGeometry } from '../compress/patches.js';

type TfTensor = import('@tensorflow/tfjs').Tensor;
type TfTensor2D = import('@tensorflow/tfjs').Tensor2D;
interface ConvConfig { kernel_size?: number[]; kernelSize?: number[]; strides?: number[]; padding?: string; dilation_rate?: number[]; dilationRate?: number[] }

function kerasGeometry(config: object): ConvGeometry {
  const c = config as ConvConfig;
  return { kernel: (c.kernelSize ?? c.kernel_size) as number[], strides: c.strides ?? [1, 1], padding: c.padding as 'same' | 'valid', dilation: c.dilationRate ?? c.dilation_rate ?? [1, 1] };
}

export async function tfjsInputMoments(source: LayersSource, layers: string[], x: Tensor, opts: JobOptions = {}, batch = 500): Promise<Map<string, InputMoments>> {
  const tf = await tfjs();
  const { model } = await source.load();
  try {
    const inputs = layers.map((name) => {
      const layer = model.getLayer(name);
      const input = layer.input;
      if (Array.isArray(input)) throw new InputError(source.path, `layer ${name} has several inputs; whitening needs one`);
      if (input.shape.length !== 2 && !(input.shape.length === 4 && layer.getClassName() === 'Conv2D')) throw new InputError(source.path, `layer ${name}: whitening supports Dense layers on 2-D inputs and Conv2D layers`);
      return input;
    });
    // Layers fed by one tensor (branches off one layer) share a probe output: TF.js refuses a
    // model that lists an output twice.
    const unique = [...new Set(inputs)];
    const output = inputs.map((t) => unique.indexOf(t));
    const probe = tf.model({ inputs: model.inputs, outputs: unique });
    // A Conv2D layer's samples are its input patches; a Dense layer's are its input rows.
    const samples = layers.map((name, i) => (inputs[i].shape.length === 4
      ? patchRows(tf, kerasGeometry(model.getLayer(name).getConfig()), inputs[i].shape[3] as number)
      : { dim: inputs[i].shape[1] as number, rows: (t: TfTensor) => t as TfTensor2D }));
    const acc = samples.map((s) => new MomentAccumulator(s.dim));
    const n = x.shape[0];
    const per = x.data.length / x.shape[0];
    for (let start = 0; start < n; start += batch) {
      await checkpoint(opts.signal);
      const end = Math.min(n, start + batch);
      // Read out inside tidy, summed outside it (with checkpoints): tidy's result is walked element by element.
      let rows: Float32Array[] = [];
      tf.tidy(() => {
        const xb = tf.tensor(x.data.subarray(start * per, end * per), [end - start, ...x.shape.slice(1)]);
        const outs = probe.predict(xb) as import('@tensorflow/tfjs').Tensor | import('@tensorflow/tfjs').Tensor[];
        const list = Array.isArray(outs) ? outs : [outs];
        rows = samples.map((s, i) => s.rows(list[output[i]]).dataSync() as Float32Array);
      });
      for (const [i, a] of acc.entries()) await a.addSamplesAsync(rows[i], false, opts.signal);
      opts.progress?.report(end / n, 'calibration statistics');
    }
    return new Map(layers.map((name, i) => [name, acc[i].moments()]));
  } finally {
    model.dispose();
  }
}
