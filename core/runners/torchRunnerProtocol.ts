// The messages between runners/torch.ts and python/torch_runner.py, defined once: each op's
// request fields and result value. Frames are the PyTorch engine's (engines/torchProtocol.ts):
// a JSON header, then raw little-endian arrays, listed in the header's `parts` both ways.
// Array names: `x` (inputs, f32, shaped by the request's `shape`), `a:<layer>`, `b:<layer>`,
// `bias:<layer>` (factors in the job's orientation, compress/types.ts), `c:<layer>` (f64 moments).
import type { Fidelity } from '../compress/fidelity.js';

export interface RunnerOps {
  /**
   * Builds the module — the user's (`module`: imports it, calls its factory), else a Hugging Face
   * folder's (`checkpoint` is the folder: transformers builds its config's architecture) — and
   * loads the checkpoint (a folder: its weights) into it, strictly.
   */
  open: { request: { module?: string; checkpoint: string; graph?: OnnxGraphMessage }; result: { tokens: boolean } };
  /**
   * With `x`: the input second moments XᵀX/N (f64) of the named layers that are nn.Linear, or
   * ungrouped nn.Conv1d/2d over their patches, those on a sub-grid of positions where one input's
   * Gram would pass `gramPerInput` multiply-adds (compress/patches.ts's rule).
   */
  moments: { request: { names: string[]; gramPerInput: number }; result: { samples: Record<string, number> } };
  /** With `x`: keeps `x` and the original's outputs on it for `score` and `probe`, until `release`. */
  reference: { request: Record<string, never>; result: { classifier: boolean } };
  /** With factors: the variant's fidelity to the original on the reference inputs. */
  score: { request: Record<string, never>; result: Fidelity };
  /** With one layer's factors: ‖ΔY‖² and ‖Y‖² on the reference inputs (sensitivity.ts's gain). */
  probe: { request: Record<string, never>; result: { err2: number; ref2: number } };
  release: { request: Record<string, never>; result: Record<string, never> };
  /**
   * With factors and `x`: a student to distil; its last `held` rows are held out. `alsoTrained`:
   * stored tensors trained besides the factors (an ONNX graph's). The start's held-out fidelity;
   * whether outputs are class scores.
   */
  train_begin: { request: { held: number; alsoTrained?: string[] }; result: { before: Fidelity; classifier: boolean } };
  /** Begins a training of `steps` steps from the start; train_steps runs them, a slice at a time. */
  train: { request: { temperature: number; learningRate: number; steps: number; batchSize: number; seed: number }; result: Record<string, never> };
  train_steps: { request: { count: number }; result: Record<string, never> };
  /** The held-out fidelity of the weights as trained so far. */
  train_score: { request: Record<string, never>; result: Fidelity };
  /** Remembers the weights just trained as the best. */
  train_keep: { request: Record<string, never>; result: Record<string, never> };
  /** Returns the best (`keep`) or the starting factors, and the `alsoTrained` tensors as `t:<name>`, and ends the training. */
  train_end: { request: { keep: boolean }; result: Record<string, never> };
  /**
   * With `x` (and `labels`): the original against `compressed` (a reduced safetensors file, or a
   * reduced folder) loaded into a copy of the module; perplexity where `x` is token ids [N, T].
   */
  evaluate: {
    request: { compressed: string };
    result: Fidelity & { perplexity?: [original: number, compressed: number]; accuracy?: [original: number, compressed: number] };
  };
}

export type RunnerOp = keyof RunnerOps;


/**
 * An ONNX graph as the runner builds it into a module (python/onnx_graph.py), read by Node
 * (formats/onnx/inTorch.ts). Float tensors travel as arrays `t:<name>`.
 */
export interface OnnxGraphMessage {
  input: string;
  output: string;
  /** The value a final Softmax reads: the student is distilled on it. */
  logits?: string;
  opset: number;
  nodes: { op: string; name: string; inputs: string[]; outputs: string[]; attrs: Record<string, OnnxAttribute> }[];
  /** Float tensors (initializers and Constant nodes): their shapes, by name. */
  floats: Record<string, number[]>;
  /** Small integer tensors (shape arithmetic), by name. */
  ints: Record<string, { shape: number[]; values: number[] }>;
  /** The layers the reader lists (formats/onnx/read.ts): each one's weight becomes a submodule the factors replace. */
  layers: { name: string; kind: string; weight: string; transposed: boolean }[];
}

export type OnnxAttribute = number | string | number[];
