// `reducible evaluate --torch-model file.py:factory`, or of a Hugging Face folder: both models
// run in the PyTorch worker, the original with its checkpoint, the compressed one loaded the
// documented way (python/reducible_load.py) into a copy of the module: top-1 agreement, relative
// output error, and for a language model (token ids [N, T] as inputs) each one's perplexity.
import { readArray, toFloat32 } from '../io/npy.js';
import { OpenModule } from '../runners/torch.js';
import { inputArrays, type Arrays } from '../runners/torchProcess.js';
import { InputError, type Model } from '../types.js';
import type { EvalOptions, EvalReport, ModelSide } from './evaluate.js';
import { inputsFromFile } from './evaluate.js';

export async function evaluateWithModule(a: Model, b: Model, o: EvalOptions): Promise<EvalReport> {
  if (!o.inputs) throw new InputError(a.path, 'evaluating by running the model\'s module needs --inputs (token ids [N, T] for a language model)');
  const x = await inputsFromFile(o.inputs);
  const arrays: Arrays = inputArrays(x);
  if (o.labels) {
    const labels = toFloat32(await readArray(o.labels));
    if (labels.length !== x.shape[0]) throw new InputError(o.labels, `has ${labels.length} labels for ${x.shape[0]} inputs`);
    arrays.push(['labels', labels]);
  }
  const module = new OpenModule(a.path, { torchModel: o.torchModel, python: o.python });
  try {
    const { value } = await (await module.get()).call('evaluate', { compressed: b.path }, arrays, x.shape);
    const side = (m: Model, i: number): ModelSide => ({
      path: m.path, format: m.format, params: m.totalParams, bytes: m.fileBytes,
      ...(value.accuracy ? { accuracy: value.accuracy[i] } : {}), ...(value.perplexity ? { perplexity: value.perplexity[i] } : {}),
    });
    return {
      original: side(a, 0), compressed: side(b, 1), samples: value.samples, inputsFrom: 'file',
      top1Agreement: value.top1Agreement, relativeOutputError: value.relativeOutputError,
    };
  } finally {
    await module.dispose();
  }
}
