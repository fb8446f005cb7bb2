// The part of an ONNX graph run in TF.js (inTfjs.ts) that training changes, split from the
// frozen values it reads so that a trainer can compute those once.
import type { NodeMessage } from './schema.js';
import { execute, floatValue, type LoadedGraph, type Weights } from './inTfjsGraph.js';
import { Host, type Tf, type TfTensor } from './inTfjsValues.js';

/**
 * The part of a graph that training changes. `frontier`: the values computed from the input
 * without any trained tensor that the rest reads (for a CNN whose convolutions stay frozen,
 * the flattened features the dense layers take); `run` computes from them alone. Their values
 * do not change while training, so a trainer can compute them once per input instead of once
 * per step.
 */
export interface TrainedPart {
  frontier: string[];
  /** The frontier's values for `x`, in its order; undefined where one is an integer (e.g. a shape that follows the batch size). */
  frontierValues(tf: Tf, x: TfTensor, weights: Weights): TfTensor[] | undefined;
  run(tf: Tf, given: ReadonlyMap<string, TfTensor>, weights: Weights, until?: string): TfTensor;
}

/** The graph split where the stored tensors named `trained` start to matter. */
export function trainedPart(graph: LoadedGraph, trained: ReadonlySet<string>): TrainedPart {
  const { input, output, nodes } = graph;
  // A value depends on the input, or on a trained weight, if a node computing it reads one that does.
  const fromInput = new Set([input]), fromTrained = new Set(trained);
  const reads = (n: NodeMessage, set: Set<string>): boolean => n.input.some((i) => set.has(i));
  const live = new Set<NodeMessage>();
  for (const n of nodes) {
    if (reads(n, fromTrained)) { live.add(n); n.output.forEach((o) => fromTrained.add(o)); } else if (reads(n, fromInput)) n.output.forEach((o) => fromInput.add(o));
  }
  const frontier = [...new Set([...live].flatMap((n) => n.input.filter((i) => fromInput.has(i) && !fromTrained.has(i))))];
  // Nodes of neither kind (constants, arithmetic on stored tensors) run every time: they are cheap.
  const runs = (n: NodeMessage): boolean => live.has(n) || !reads(n, fromInput);
  return {
    frontier,
    frontierValues(tf, x, weightOf) {
      const values = execute(graph, tf, new Map([[input, x]]), weightOf, frontier, (n) => !live.has(n));
      const picked = frontier.map((name) => values.get(name));
      return picked.every((v) => v && !(v instanceof Host)) ? picked as TfTensor[] : undefined;
    },
    run: (tf, given, weightOf, until = output) => floatValue(graph.path, execute(graph, tf, new Map(given), weightOf, [until], runs), until),
  };
}
