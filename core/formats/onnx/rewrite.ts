// One layer node → its factorised form, with standard operators only:
//   MatMul(X, W)        → MatMul(MatMul(X, U), V)
//   Gemm(X, W, C)       → Gemm(MatMul(X, U), V, C)   (transA through a Transpose)
//   Conv(X, W, bias)    → Conv(Conv(X, U: k filters, same kernel/strides/pads), V: 1×1, bias)
// U and V are the factors A, B of the layer's matrix view laid out as the operator expects.
import type { Factorisation, FactorShape } from '../../compress/types.js';
import { transpose } from '../../io/decode.js';
import type { DType, Layer } from '../../types.js';
import { intAttr } from './read.js';
import { attr, factorInput, node, type GraphEdit } from './emit.js';
import type { AttributeMessage, NodeMessage } from './schema.js';

interface Factor { values: (f: Factorisation) => Float32Array; dims: number[] }

/** `load` gives the layer's factors when the writer reaches their initializers. */
export function rewriteLayer(edit: GraphEdit, original: NodeMessage, layer: Layer, f: FactorShape, load: () => Promise<Factorisation>, storage: DType): NodeMessage[] {
  if (f.layout) return relaidOut(edit, original, layer, f, load, storage);
  const { rows, cols } = layer.matrix;
  const k = f.rank;
  const [x, , bias] = original.input;
  const y = original.output[0];
  const base = original.name || layer.weight;
  const hidden = edit.fresh(`${base}_lowrank`);
  const nodes: NodeMessage[] = [];
  const input = (suffix: 'u' | 'v', factor: Factor): string => {
    const r = factorInput(edit, `${layer.weight}_${suffix}`, async () => factor.values(await load()), factor.dims, layer.dtype, storage);
    nodes.push(...r.nodes);
    return r.name;
  };
  const op = (opType: string, inputs: string[], output: string, suffix: string, attribute: AttributeMessage[] = []): void => {
    nodes.push(node(opType, inputs, [output], original.name ? edit.fresh(`${original.name}_${suffix}`) : '', attribute));
  };

  if (original.opType === 'MatMul') {
    const u = input('u', { values: (t) => t.a, dims: [rows, k] });
    const v = input('v', { values: (t) => t.b, dims: [k, cols] });
    op('MatMul', [x, u], hidden, 'u');
    op('MatMul', [hidden, v], y, 'v');
  } else if (original.opType === 'Gemm') {
    let lhs = x;
    if (intAttr(original, 'transA', 0) === 1) {
      lhs = edit.fresh(`${base}_transposed_input`);
      op('Transpose', [x], lhs, 'transpose', [attr.ints('perm', [1, 0])]);
    }
    const transB = intAttr(original, 'transB', 0) === 1;
    const u = input('u', { values: (t) => t.a, dims: [rows, k] });
    // V keeps the source's orientation so transB means what it meant.
    const v = input('v', transB ? { values: (t) => transpose(t.b, k, cols), dims: [cols, k] } : { values: (t) => t.b, dims: [k, cols] });
    op('MatMul', [lhs, u], hidden, 'u');
    const kept = original.attribute.filter((a) => a.name !== 'transA');
    op('Gemm', bias ? [hidden, v, bias] : [hidden, v], y, 'v', kept);
  } else {
    // Conv W is [cout, cin, k…]; the matrix view's rows run over (cin, k…), so U = Aᵀ as [k, cin, k…].
    const spatial = layer.shape.slice(2);
    const u = input('u', { values: (t) => transpose(t.a, rows, k), dims: [k, ...layer.shape.slice(1)] });
    const v = input('v', { values: (t) => transpose(t.b, k, cols), dims: [cols, k, ...spatial.map(() => 1)] });
    op('Conv', [x, u], hidden, 'u', original.attribute);
    op('Conv', bias ? [hidden, v, bias] : [hidden, v], y, 'v', [attr.ints('kernel_shape', spatial.map(() => 1))]);
  }
  return nodes;
}

/**
 * DeepThin re-layout: the weight is computed in the graph from its factors — MatMul(U, V) is
 * the p×q auxiliary matrix whose first rows·cols entries, flattened, are the stored weight
 * (Reshape, Slice, Reshape) — and the layer's own node, MatMul, Gemm or Conv alike, runs
 * unchanged on it. The file stores k·(p+q) values; inference rebuilds the dense weight.
 */
function relaidOut(edit: GraphEdit, original: NodeMessage, layer: Layer, f: FactorShape, load: () => Promise<Factorisation>, storage: DType): NodeMessage[] {
  const { p, q } = f.layout!;
  const k = f.rank;
  const base = original.name || layer.weight;
  const nodes: NodeMessage[] = [];
  const factor = (suffix: string, values: (t: Factorisation) => Float32Array, dims: number[]): string => {
    const r = factorInput(edit, `${layer.weight}_${suffix}`, async () => values(await load()), dims, layer.dtype, storage);
    nodes.push(...r.nodes);
    return r.name;
  };
  const ints = (suffix: string, values: number[]): string =>
    edit.initializer(`${base}_${suffix}`, [values.length], 'int64', async () => new Uint8Array(BigInt64Array.from(values, BigInt).buffer));
  const step = (opType: string, inputs: string[], suffix: string): string => {
    const out = edit.fresh(`${base}_${suffix}`);
    nodes.push(node(opType, inputs, [out], original.name ? edit.fresh(`${original.name}_${suffix}`) : ''));
    return out;
  };
  const auxiliary = step('MatMul', [factor('relayout_u', (t) => t.a, [p, k]), factor('relayout_v', (t) => t.b, [k, q])], 'auxiliary');
  const flat = step('Reshape', [auxiliary, ints('flat_shape', [-1])], 'flat');
  const entries = step('Slice', [flat, ints('slice_starts', [0]), ints('slice_ends', [layer.shape.reduce((a, b) => a * b, 1)])], 'entries');
  const weight = step('Reshape', [entries, ints('weight_shape', layer.shape)], 'weight');
  nodes.push({ ...original, input: original.input.map((name) => (name === layer.weight ? weight : name)) });
  return nodes;
}
