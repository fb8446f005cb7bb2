// Rewrites a Keras model config (legacy `model_config` or Keras 3 `config.json`, the same
// topology JSON) so each factorised layer L becomes two layers `L_u` → `L_v`:
//   Dense(units)        → Dense(k, linear, no bias) + Dense(units, L's activation and bias)
//   ConvND(filters)     → ConvND(k, L's kernel/strides/padding/dilation, no bias)
//                         + ConvND(filters, 1×…×1, L's activation and bias)
//   Embedding(n, dim)   → Embedding(n, k) + Dense(dim, linear, no bias)
// In a Sequential the pair takes L's place; in a functional model `L_u` takes L's inbound
// nodes, `L_v` is called on `L_u`, and every reference to L (inbound nodes, output_layers)
// now names `L_v`.
import type { LayerKind } from '../../types.js';
import { jsonNumber, jsonText } from '../../text/jsonText.js';

type Json = Record<string, unknown>;
export interface SplitSpec { kind: LayerKind; rank: number }

export const uName = (name: string): string => `${name}_u`;
export const vName = (name: string): string => `${name}_v`;

/** A deep copy of `config` with every layer named in `splits` replaced by its pair. */
export function splitConfig(config: unknown, splits: Map<string, SplitSpec>): unknown {
  const copy = structuredClone(config);
  rewriteModel(copy as Json, splits);
  return copy;
}

/** `model` is `{class_name, config}`; its layer list is `config.layers` (or `config` itself in Keras ≤ 2.2). */
function rewriteModel(model: Json, splits: Map<string, SplitSpec>): void {
  const config = model.config as Json | unknown[];
  const list = Array.isArray(config) ? config : (config as Json)?.layers;
  if (!Array.isArray(list)) return;
  const out: Json[] = [];
  const renamed = new Map<string, string>();
  for (const entry of list as Json[]) {
    const name = layerName(entry);
    const spec = splits.get(name);
    if ((entry.config as Json)?.layers) rewriteModel(entry, splits);
    if (!spec) { out.push(entry); continue; }
    const [u, v] = splitLayer(entry, spec);
    if (Array.isArray(entry.inbound_nodes)) {
      u.inbound_nodes = entry.inbound_nodes;
      v.inbound_nodes = (entry.inbound_nodes as unknown[]).map((node, i) => callOn(node, uName(name), i, spec));
      renamed.set(name, vName(name));
    }
    out.push(u, v);
  }
  list.splice(0, list.length, ...out);
  if (renamed.size === 0) return;
  // L_u's nodes are L's and may themselves name L (a layer applied to its own output).
  for (const entry of out) renameRefs(entry.inbound_nodes, renamed);
  renameRefs((config as Json).output_layers, renamed);
}

function layerName(entry: Json): string {
  return jsonText((entry.config as Json)?.name ?? entry.name ?? '');
}

/** Replaces `[L, node, tensor, …]` references (legacy nodes, keras_history, output_layers). */
function renameRefs(x: unknown, renamed: Map<string, string>): void {
  if (Array.isArray(x)) {
    if (typeof x[0] === 'string' && typeof x[1] === 'number' && typeof x[2] === 'number' && renamed.has(x[0])) x[0] = renamed.get(x[0]);
    else x.forEach((y) => renameRefs(y, renamed));
  } else if (x && typeof x === 'object') {
    Object.values(x).forEach((y) => renameRefs(y, renamed));
  }
}

/** The inbound node that calls `L_v` on output `index` of `L_u`, in the format of `like`. */
function callOn(like: unknown, u: string, index: number, spec: SplitSpec): unknown {
  if (Array.isArray(like)) return [[u, index, 0, {}]];
  const first = firstKerasTensor(like);
  const shape = Array.isArray(first?.shape) ? [...first.shape as unknown[]] : null;
  if (shape) {
    // Only the last axis is known to be k; a conv's spatial axes depend on its strides.
    if (spec.kind === 'embedding') shape.push(spec.rank);
    else { shape[shape.length - 1] = spec.rank; if (spec.kind !== 'dense') shape.fill(null, 1, -1); }
  }
  return {
    args: [{ class_name: '__keras_tensor__', config: { shape, dtype: first?.dtype ?? 'float32', keras_history: [u, index, 0] } }],
    kwargs: {},
  };
}

function firstKerasTensor(x: unknown): Json | undefined {
  if (Array.isArray(x)) { for (const y of x) { const t = firstKerasTensor(y); if (t) return t; } return undefined; }
  if (!x || typeof x !== 'object') return undefined;
  const o = x as Json;
  if (o.class_name === '__keras_tensor__') return o.config as Json;
  for (const y of Object.values(o)) { const t = firstKerasTensor(y); if (t) return t; }
  return undefined;
}

/** Keys that describe a model's input and belong only on the first layer of the pair. */
const INPUT_KEYS = ['batch_input_shape', 'input_shape', 'batch_shape', 'batch_size', 'input_dim', 'input_length'];

function splitLayer(entry: Json, spec: SplitSpec): [Json, Json] {
  const name = layerName(entry);
  const cfg = entry.config as Json;
  // Keras 3 entries also carry module, registered_name and build_config; functional ones a
  // top-level name. L_v gets no build_config: it is built when the model calls it.
  const shell = Object.fromEntries(Object.entries(entry).filter(([k]) => k !== 'inbound_nodes' && k !== 'build_config'));
  const make = (base: Json, config: Json): Json => ('name' in entry ? { ...base, config, name: config.name } : { ...base, config });
  const first = entry.build_config === undefined ? shell : { ...shell, build_config: entry.build_config };
  const later = Object.fromEntries(Object.entries(cfg).filter(([k]) => !INPUT_KEYS.includes(k)));
  const linear = { activation: 'linear', use_bias: false, activity_regularizer: null };
  switch (spec.kind) {
    case 'dense':
      return [
        make(first, { ...cfg, ...linear, name: uName(name), units: spec.rank }),
        make(shell, { ...later, name: vName(name) }),
      ];
    case 'embedding':
      return [
        make(first, { ...cfg, name: uName(name), output_dim: spec.rank, activity_regularizer: null }),
        make({ ...shell, class_name: 'Dense' }, { name: vName(name), trainable: cfg.trainable ?? true, dtype: cfg.dtype, units: cfg.output_dim, ...linear }),
      ];
    default: {
      const ones = Array.isArray(cfg.kernel_size) ? (cfg.kernel_size as unknown[]).map(() => 1) : [1];
      const pointwise: Json = { ...later, name: vName(name), kernel_size: ones, strides: ones, padding: 'valid', dilation_rate: ones };
      if ('groups' in cfg) pointwise.groups = 1;
      return [
        make(first, { ...cfg, ...linear, name: uName(name), filters: spec.rank }),
        make(shell, pointwise),
      ];
    }
  }
}

/**
 * The order Keras 2 gives a model's layers (`model.layers`), which legacy `.h5` loading
 * pairs with the `layer_names` groups by position: a Sequential's list order; for a
 * functional model, deepest first counting from the outputs, ties in depth-first order from
 * the outputs (keras/engine/functional.py `_map_graph_network` and `_build_map`). Splitting a
 * layer deepens everything upstream of it, which can reorder parallel branches.
 */
export function kerasLayerOrder(model: unknown): string[] {
  const config = (model as Json).config as Json | unknown[];
  const list = (Array.isArray(config) ? config : config?.layers) as Json[] | undefined;
  if (!Array.isArray(list)) return [];
  const outputs = (config as Json).output_layers;
  if (!Array.isArray(outputs)) return list.map(layerName);
  const inbound = new Map(list.map((e) => [layerName(e), ((e.inbound_nodes ?? []) as unknown[]).map(nodeRefs)]));
  const parents = (layer: string, node: number): [string, number][] => inbound.get(layer)?.[node] ?? [];
  const index = new Map<string, number>();
  const postorder: [string, number][] = [];
  const done = new Set<string>();
  const visit = (layer: string, node: number): void => {
    if (done.has(`${layer}#${node}`)) return;
    if (!index.has(layer)) index.set(layer, index.size);
    for (const [l, n] of parents(layer, node)) visit(l, n);
    done.add(`${layer}#${node}`);
    postorder.push([layer, node]);
  };
  const outs = (typeof outputs[0] === 'string' ? [outputs] : outputs) as [string, number][];
  for (const [l, n] of outs) visit(l, n);
  const nodeDepth = new Map<string, number>(), layerDepth = new Map<string, number>();
  for (const [layer, node] of postorder.reverse()) {
    const depth = Math.max(nodeDepth.get(`${layer}#${node}`) ?? 0, layerDepth.get(layer) ?? 0);
    layerDepth.set(layer, depth);
    nodeDepth.set(`${layer}#${node}`, depth);
    for (const [l, n] of parents(layer, node)) nodeDepth.set(`${l}#${n}`, Math.max(depth + 1, nodeDepth.get(`${l}#${n}`) ?? 0));
  }
  return [...layerDepth.keys()].sort((a, b) => layerDepth.get(b)! - layerDepth.get(a)! || index.get(a)! - index.get(b)!);
}

/** The `[layer, node]` inputs of one inbound node, legacy (`[[name, node, tensor, kwargs]…]`) or Keras 3. */
function nodeRefs(node: unknown): [string, number][] {
  if (Array.isArray(node)) return node.map((r) => [jsonText((r as unknown[])[0]), jsonNumber((r as unknown[])[1])]);
  const refs: [string, number][] = [];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      const o = x as Json;
      if (o.class_name === '__keras_tensor__') { const h = (o.config as Json).keras_history as unknown[]; refs.push([jsonText(h[0]), jsonNumber(h[1])]); } else Object.values(o).forEach(walk);
    }
  };
  walk((node as Json).args);
  return refs;
}

/** The nested model named `name` inside `model` (at any depth), if there is one. */
export function nestedModel(model: unknown, name: string): unknown {
  const config = (model as Json)?.config as Json | unknown[];
  const list = (Array.isArray(config) ? config : config?.layers) as Json[] | undefined;
  for (const entry of Array.isArray(list) ? list : []) {
    if (!Array.isArray((entry.config as Json)?.layers)) continue;
    if (layerName(entry) === name) return entry;
    const inner = nestedModel(entry, name);
    if (inner) return inner;
  }
  return undefined;
}
