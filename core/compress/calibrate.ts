// Picks the collector of per-layer input statistics for whitening by format: tfjs for TF.js
// layers models and Keras files (Dense and Conv2D layers, the Keras config built in TF.js as
// `evaluate` runs it) and for TF.js graph models (MatMul and Conv2D nodes, GraphModel.execute),
// onnxruntime for ONNX (MatMul / Gemm). Layers a collector does not cover keep plain SVD.
// PyTorch and safetensors checkpoints carry no forward pass: those are refused.
// Every collector sees only the first MOMENT_SAMPLES inputs: the second moments of 5 000
// inputs already give whitened factors as good as 60 000 do (measured on Fashion-MNIST),
// while distillation (finetuneTfjs) keeps gaining from every input, so callers pass them all.
import { firstRows, type Tensor } from '../eval/tensor.js';
import type { StoredModel } from '../formats/storedModel.js';
import { InputError, type JobOptions, type Layer, type Model } from '../types.js';
import { onnxInputMoments } from './calibrateOnnx.js';
import { tfjsInputMoments } from './calibrateTfjs.js';
import { tfjsGraphInputMoments } from './calibrateTfjsGraph.js';
import { withLayersSource, type LayersSource } from './layersModel.js';
import type { InputMoments } from './moments.js';

const MOMENT_SAMPLES = 5000;

/** `source`: the job's TF.js model, where it has one (layersModel.ts). */
export async function inputMoments(model: Model, all: Tensor, opts: JobOptions, source?: LayersSource): Promise<Map<string, InputMoments>> {
  const n = Math.min(all.shape[0], MOMENT_SAMPLES);
  const calibration = firstRows(all, n);
  const covered = (kinds: string[]): Layer[] => model.layers.filter((l) => kinds.includes(l.kind) && l.factorisable);
  switch (model.format) {
    case 'tfjs-layers': case 'keras-h5': case 'keras': return withLayersSource(model, source, (s) => tfjsInputMoments(s, covered(['dense', 'conv2d']).map((l) => l.name), calibration, opts));
    case 'tfjs-graph': return tfjsGraphInputMoments(model as StoredModel, covered(['matmul', 'conv2d']), calibration, opts);
    case 'onnx': return onnxInputMoments(model as StoredModel, calibration, opts);
    default: throw new InputError(model.path, `--method whitened is available for ONNX, Keras and TF.js models (this is ${model.format})`);
  }
}
