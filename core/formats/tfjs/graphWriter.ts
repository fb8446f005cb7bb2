// Writes a factorised TF.js graph model by rewriting its GraphDef (`modelTopology.node`):
//   MatMul(x, W)               → MatMul(MatMul(x, U), V)                  (transpose_a kept on the first)
//   _FusedMatMul(x, W, b…)     → _FusedMatMul(MatMul(x, U), V, b…)        (the fusion stays on the second)
//   Conv2D / _FusedConv2D(x, W…) → Conv2D(x, U: k filters, same geometry) then 1×1 Conv2D / _FusedConv2D(·, V, b…)
// The second node keeps the original's name, so consumers, control dependencies and the
// signature still find its output. U and V are new Const nodes (`<weight>_u`, `<weight>_v`)
// whose values sit in the weights manifest; every other node and attribute is kept as is.
import { loadAll } from '../../compress/factorSource.js';
import type { Factorisation, FactorSource, OutputSink, WriteOptions } from '../../compress/types.js';
import { InputError } from '../../types.js';
import { freshName } from '../freshName.js';
import type { TfjsModel } from './read.js';
import type { GraphAttr, GraphNode } from './read.js';
import { writeTfjsFiles, type FactorTensor } from './files.js';

interface GraphDef { node?: GraphNode[]; [k: string]: unknown }

/** Attributes that describe a fusion; the rank-k first node is a plain op without them. */
const FUSION_ATTRS = ['fused_ops', 'num_args', 'epsilon', 'leakyrelu_alpha'];
const PLAIN_OP: Record<string, string> = { MatMul: 'MatMul', _FusedMatMul: 'MatMul', Conv2D: 'Conv2D', _FusedConv2D: 'Conv2D' };

const ones = (): GraphAttr => ({ list: { i: ['1', '1', '1', '1'] } });
const bytesAttr = (s: string): GraphAttr => ({ s: Buffer.from(s).toString('base64') });

/** The factors as stored tensors, laid out as the node's op reads its weight. */
function factorTensors(node: GraphNode, f: Factorisation, names: { u: string; v: string }): [FactorTensor, FactorTensor] {
  const { rows, cols } = f.layer.matrix;
  const k = f.rank;
  // MatMul factors are stored untransposed whatever the source's transpose_b (splitNode clears it).
  if (PLAIN_OP[node.op] === 'MatMul') return [{ name: names.u, shape: [rows, k], values: f.a }, { name: names.v, shape: [k, cols], values: f.b }];
  // Conv2D filters are HWIO: the matrix view's rows run over (h, w, in) in stored order.
  const [h, w, cin] = f.layer.shape;
  return [{ name: names.u, shape: [h, w, cin, k], values: f.a }, { name: names.v, shape: [1, 1, k, cols], values: f.b }];
}

/** A Const node for a new factor, shaped after the weight's own Const node. */
function constNode(weightNode: GraphNode, t: FactorTensor): GraphNode {
  const value = weightNode.attr?.value?.tensor ?? { dtype: 'DT_FLOAT' };
  const attr = { dtype: { type: 'DT_FLOAT' }, ...weightNode.attr, value: { tensor: { ...value, tensorShape: { dim: t.shape.map((d) => ({ size: String(d) })) } } } };
  return { ...weightNode, name: t.name, attr };
}

/** The two compute nodes replacing `node`: rank-k plain op, then the original (fusion, name and all) on the factor. */
function splitNode(node: GraphNode, hidden: string, u: string, v: string): [GraphNode, GraphNode] {
  const [x, , ...rest] = node.input ?? [];
  const plainAttr = Object.fromEntries(Object.entries(node.attr ?? {}).filter(([key]) => !FUSION_ATTRS.includes(key)));
  const first: GraphNode = { ...node, name: hidden, op: PLAIN_OP[node.op], input: [x, u], attr: plainAttr };
  const second: GraphNode = { ...node, input: [hidden, v, ...rest], attr: { ...node.attr } };
  if (PLAIN_OP[node.op] === 'MatMul') {
    // The hidden activations are never transposed, whatever the input was; the factors are
    // stored untransposed. (That also keeps clear of tfjs-backend-wasm 4.22, whose fused
    // MatMul with a transposed operand and a bias or activation computes wrong values.)
    if (node.attr?.transpose_a?.b === true) second.attr!.transpose_a = { b: false };
    for (const n of [first, second]) if (n.attr?.transpose_b?.b === true) n.attr.transpose_b = { b: false };
  } else {
    Object.assign(second.attr!, { strides: ones(), dilations: ones(), padding: bytesAttr('VALID') });
    delete second.attr!.explicit_paddings;
  }
  return [first, second];
}

export async function writeTfjsGraph(model: TfjsModel, source: FactorSource, out: string, sink: OutputSink, opts: WriteOptions): Promise<void> {
  // The weights manifest goes first, so every factor is laid out before any is written.
  const factors = await loadAll(source);
  const topology = model.extra.modelTopology as GraphDef;
  const nodes = topology.node ?? [];
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const taken = new Set([...byName.keys(), ...model.tensors.map((t) => t.name)]);
  const split = new Map<string, GraphNode[]>();
  const tensors = new Map<Factorisation, FactorTensor[]>();
  const dropped = new Set<string>();
  for (const f of factors.values()) {
    const layer = f.layer;
    const node = byName.get(layer.name);
    const weightNode = byName.get(layer.weight);
    if (!node || !PLAIN_OP[node.op] || !layer.factorisable) throw new InputError(model.path, `layer ${layer.name} cannot be factorised`);
    if (weightNode?.op !== 'Const') throw new InputError(model.path, `weight ${layer.weight} of ${layer.name} is not a Const node`);
    const pair = factorTensors(node, f, { u: freshName(taken, `${layer.weight}_u`), v: freshName(taken, `${layer.weight}_v`) });
    const [first, second] = splitNode(node, freshName(taken, `${node.name}_u`), pair[0].name, pair[1].name);
    split.set(node.name, [constNode(weightNode, pair[0]), constNode(weightNode, pair[1]), first, second]);
    tensors.set(f, pair);
    dropped.add(weightNode.name);
  }
  const rewritten = nodes.flatMap((n) => split.get(n.name) ?? (dropped.has(n.name) ? [] : [n]));
  await writeTfjsFiles(model, factors, out, sink, opts, {
    topology: { ...topology, node: rewritten },
    factorTensors: (f) => tensors.get(f)!,
    biasName: (f) => f.layer.bias!, // the bias Const feeds the second node unchanged
  });
}
