// Walks an ONNX graph run in TF.js (inTfjs.ts): its nodes are decoded from the file, then run
// in order through the operator table (inTfjsOps.ts) until the values asked for are computed.
import { InputError } from '../../types.js';
import type { OnnxGraph } from './read.js';
import { NodeProto, type NodeMessage } from './schema.js';
import { OPS } from './inTfjsOps.js';
import { Factored, Host, type Tf, type TfTensor, type Value } from './inTfjsValues.js';

/** Where the graph's weights come from when it runs: the stored values, or a trainer's variables (factors, for a factorised product). */
export type Weights = (name: string) => TfTensor | Factored;

/** What every run of a graph reads, read once (onnxProgram). */
export interface LoadedGraph {
  /** The model file, named in errors. */
  path: string;
  nodes: NodeMessage[];
  opset: number;
  input: string;
  output: string;
  /** The stored integer tensors, kept on the host. */
  host: Map<string, Host>;
  /** Names of the stored float tensors, read through the run's Weights. */
  weightSet: Set<string>;
}

/** The graph's nodes in file order, decoded whole (the reader keeps attributes of layer nodes only). */
export async function readNodes(g: OnnxGraph): Promise<NodeMessage[]> {
  const out: NodeMessage[] = [];
  for (const e of g.entries) {
    if (!e.node) continue;
    const r = e.range;
    out.push(NodeProto.decode(await g.file.read(r.dataStart, r.end - r.dataStart)) as unknown as NodeMessage);
  }
  return out;
}

/**
 * Runs the nodes `runs` picks, in order, until every value in `until` is computed; returns the
 * values given and those asked for. Every other value is disposed once the last node reading it
 * has run, so a run holds the activations still needed, not all of them: a tidy scope kept
 * every one of PaddleOCR's recogniser's until the end. (Under a gradient tape TF.js keeps
 * its own copies of what the gradients read.)
 */
export function execute(graph: LoadedGraph, tf: Tf, values: Map<string, Value>, weightOf: Weights, until: string[], runs: (n: NodeMessage) => boolean): Map<string, Value> {
  const { path, nodes, opset, host, weightSet } = graph;
  const skipped = (n: NodeMessage): boolean => !runs(n) || (n.opType === 'Constant' && n.output.every((o) => weightSet.has(o) || host.has(o)));
  const kept = new Set([...values.keys(), ...until]);
  // Tensors that are not the run's own (inputs, weights) are never disposed, whatever name an operator passes them on under.
  const foreign = new Set<Value>(values.values());
  const readers = new Map<string, number>();
  for (const n of nodes) if (!skipped(n)) for (const i of n.input) if (i) readers.set(i, (readers.get(i) ?? 0) + 1);
  const names = new Map<Value, number>();
  const release = (name: string): void => {
    const left = readers.get(name)! - 1;
    readers.set(name, left);
    const v = values.get(name);
    if (left > 0 || kept.has(name) || !v) return;
    values.delete(name);
    const holders = names.get(v)! - 1;
    if (holders > 0) { names.set(v, holders); return; }
    names.delete(v);
    if (!foreign.has(v) && !(v instanceof Host) && !(v instanceof Factored)) v.dispose();
  };
  const get = (name: string): Value | undefined => {
    if (!name) return undefined;
    const stored = values.get(name);
    if (stored !== undefined) return stored;
    const v = host.get(name) ?? (weightSet.has(name) ? weightOf(name) : undefined);
    if (v === undefined) throw new InputError(path, `value ${name} is used before it is computed (the graph is not in topological order, or reads a tensor of a type TF.js does not run)`);
    foreign.add(v);
    return v;
  };
  const pending = new Set(until.filter((name) => !values.has(name)));
  for (const n of nodes) {
    if (!pending.size) break;
    if (skipped(n)) continue;
    let outs: Value[];
    try {
      outs = OPS[n.opType](tf, n, n.input.map(get), opset);
    } catch (e) {
      if (e instanceof InputError) throw e;
      const reason = `cannot run node ${n.name || n.output[0]} (${n.opType}) in TF.js: ${(e as Error).message.split('\n')[0]}`;
      // A WebAssembly trap here is the backend's 4 GiB heap running out, not the file's fault: a runtime failure (exit 1).
      if (e instanceof WebAssembly.RuntimeError) throw new Error(`${path}: ${reason} (out of WebAssembly memory: fewer calibration inputs need less)`, { cause: e });
      throw new InputError(path, reason);
    }
    outs.forEach((v, i) => {
      if (!n.output[i]) return;
      values.set(n.output[i], v);
      names.set(v, (names.get(v) ?? 0) + 1);
      pending.delete(n.output[i]);
    });
    for (const i of n.input) if (i && values.has(i)) release(i);
  }
  return values;
}

export function floatValue(path: string, values: Map<string, Value>, name: string): TfTensor {
  const out = values.get(name);
  if (!out || out instanceof Host) throw new InputError(path, `the graph computes no float value ${name} (integer values such as shapes are not outputs here)`);
  return out instanceof Factored ? out.dense() : out;
}
