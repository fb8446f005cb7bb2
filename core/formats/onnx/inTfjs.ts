// Runs an ONNX graph in TF.js, operator by operator, so that its weights can be TF.js variables
// and the graph trained (formats/onnx/finetune.ts). onnxruntime stays the reference for what the file
// computes; a test checks that both agree on PyTorch exports and hand-built graphs. The
// operators are those feed-forward MLPs and CNNs are exported with; a graph using any other is
// refused up front, naming it. Integer tensors (shapes and indices, e.g. PyTorch's flatten as
// Shape → Gather → Unsqueeze → Concat → Reshape) are computed on the host as plain arrays, as
// shape inference would, since the batch size is known when the graph runs.
// The operators are in inTfjsArithmetic.ts, inTfjsLayers.ts and inTfjsShapes.ts (by name:
// inTfjsOps.ts); inTfjsGraph.ts runs the nodes and inTfjsTrained.ts splits off the trained part.
import { GRAPH_FIELD, initializerNames, isDefaultDomain, type OnnxModel } from './read.js';
import { InputError } from '../../types.js';
import { execute, floatValue, readNodes, type LoadedGraph, type Weights } from './inTfjsGraph.js';
import type { NodeMessage } from './schema.js';
import { OPS } from './inTfjsOps.js';
import { trainedPart, type TrainedPart } from './inTfjsTrained.js';
import { Host, type Tf, type TfTensor } from './inTfjsValues.js';

export type { Weights };

export interface OnnxProgram {
  /** The graph's (first) input and output. */
  input: string;
  output: string;
  /** The value a final Softmax (or LogSoftmax) turns into the output, where there is one: a softmax classifier's logits. */
  logits?: string;
  /** Names of the float tensors (initializers and Constant nodes) the graph reads, as the model lists them. */
  weights: string[];
  /** Runs the graph on `x` up to `until` (default: the output) inside the caller's tidy scope or tape. */
  run(tf: Tf, x: TfTensor, weights: Weights, until?: string): TfTensor;
  /** The graph split where the stored tensors named `trained` start to matter (see TrainedPart). */
  split(trained: ReadonlySet<string>): TrainedPart;
}

const FLOAT = new Set(['float32', 'float16', 'bfloat16', 'float64']);
/** Integer tensors larger than this are not shape arithmetic: they are not held on the host, and a node reading one is refused when it runs. */
const MAX_HOST = 1 << 16;

/** Refuses a graph with an operator TF.js does not run here: asked before a job starts, so the refusal does not wait for the fine-tuning stage. */
export async function checkRunsInTfjs(model: OnnxModel): Promise<void> {
  refuseUnsupported(await readNodes(model.extra), model.path);
}

function refuseUnsupported(nodes: Awaited<ReturnType<typeof readNodes>>, path: string): void {
  for (const n of nodes) {
    if (!isDefaultDomain(n) || !OPS[n.opType]) {
      throw new InputError(path, `fine-tuning runs the graph in TF.js, which here covers ${Object.keys(OPS).length} common operators, not ${n.domain ? `${n.domain}.` : ''}${n.opType} (node ${n.name || n.output[0]})`);
    }
  }
}

/**
 * The graph's (first) input and output, and the value a final Softmax (or LogSoftmax) that
 * alone reads it turns into the output: a softmax classifier's logits, which distillation matches.
 */
export function graphEnds(model: OnnxModel, nodes: NodeMessage[]): { input: string; output: string; logits?: string } {
  const g = model.extra;
  const initializers = initializerNames(g);
  const input = g.entries.find((e) => e.range.field === GRAPH_FIELD.input && e.name && !initializers.has(e.name))?.name;
  const output = g.entries.find((e) => e.range.field === GRAPH_FIELD.output && e.name)?.name;
  if (!input || !output) throw new InputError(model.path, 'the graph declares no input or no output');
  const last = nodes.find((n) => n.output.includes(output));
  const logits = (last?.opType === 'Softmax' || last?.opType === 'LogSoftmax') && nodes.filter((n) => n.input.includes(last.input[0])).length === 1 ? last.input[0] : undefined;
  return { input, output, logits };
}

export async function onnxProgram(model: OnnxModel): Promise<OnnxProgram> {
  const g = model.extra;
  const path = model.path;
  const nodes = await readNodes(g);
  const { input, output, logits } = graphEnds(model, nodes);
  refuseUnsupported(nodes, path);
  // Stored tensors: float ones are weights, fetched when the graph runs; integer ones are host values.
  const host = new Map<string, Host>();
  const weights: string[] = [];
  for (const t of model.tensors) {
    if (FLOAT.has(t.dtype)) { weights.push(t.name); continue; }
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count > MAX_HOST) continue;
    host.set(t.name, new Host(t.shape, Array.from(await model.readTensor(t.name))));
  }
  const weightSet = new Set(weights);
  const graph: LoadedGraph = { path, nodes, opset: g.opset, input, output, host, weightSet };
  return {
    input, output, logits, weights,
    run: (tf, x, weightOf, until = output) => floatValue(path, execute(graph, tf, new Map([[input, x]]), weightOf, [until], () => true), until),
    split: (trained) => trainedPart(graph, trained),
  };
}
