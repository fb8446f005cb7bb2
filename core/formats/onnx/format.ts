// ONNX models: a protobuf ModelProto, written back by splicing, run in onnxruntime; fine-tuned
// in PyTorch (inTorch.ts) or TF.js (inTfjs.ts), running the graph operator by operator.
import { writtenRunner } from '../../runners/written.js';
import { storedOverhead, type FormatModule, type Runtime } from '../format.js';
import { OnnxTrainer } from './inTorch.js';
import { onnxInputMoments } from './moments.js';
import { readOnnx, type OnnxModel } from './read.js';
import { loadOnnx } from './runtime.js';
import { writeOnnx } from './write.js';

const runtime: Runtime = { load: loadOnnx, inMemory: true };

export const onnx: FormatModule<OnnxModel> = {
  id: 'onnx',
  title: 'ONNX',
  extensions: ['.onnx'],
  read: readOnnx,
  write: writeOnnx,
  // The writer splices: every byte besides the tensors' values is kept, and a factorised layer
  // adds a node and an initializer's header, and renames its weight (73–147 bytes a layer,
  // measured on mlp.onnx, cnn.onnx and the Fashion-MNIST CNN, by the lengths of their names).
  outputOverhead: (model) => ({ base: storedOverhead(model), perLayer: 128 }),
  runtime,
  runsWritten: true,
  runner: (model, site) => {
    const trainer = new OnnxTrainer(model, site.finetuneIn ?? 'auto', site.python);
    return writtenRunner(model, { write: writeOnnx, runtime }, site, {
      inputMoments: onnxInputMoments,
      finetune: (_, factors, x, o, retrained) => trainer.finetune(factors, x, o, retrained),
      checkFinetune: () => trainer.check(),
      dispose: () => trainer.dispose(),
    });
  },
  // Re-layout needs Reshape and Slice between the factors: ONNX is the format with both.
  capabilities: { compress: true, evaluate: true, whiten: true, sensitivity: true, refine: true, finetune: true, relayout: true },
};
