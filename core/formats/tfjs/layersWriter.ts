// Writes a factorised TF.js layers model: Dense → Dense(k, linear, no bias) + Dense(units,
// activation, bias); Conv → Conv(k, same geometry, no bias) + Conv 1×1. Standard layers
// only, so stock `tf.loadLayersModel` loads it.
import { loadAll } from '../../compress/factorSource.js';
import type { FactorShape, FactorSource, OutputSink, WriteOptions } from '../../compress/types.js';
import { InputError } from '../../types.js';
import type { TfjsModel } from './read.js';
import { writeTfjsFiles } from './files.js';

type Json = Record<string, unknown>;
interface KerasLayer { class_name: string; config: Json & { name: string }; inbound_nodes?: unknown; name?: string }

function splitLayer(layer: KerasLayer, f: FactorShape): [KerasLayer, KerasLayer] {
  const c = layer.config;
  const name = c.name;
  const u: KerasLayer = { class_name: layer.class_name, config: { ...c, name: `${name}_u`, use_bias: false, activation: 'linear' } };
  const v: KerasLayer = { class_name: layer.class_name, config: { ...c, name: `${name}_v` } };
  delete u.config.bias_initializer; delete u.config.bias_regularizer; delete u.config.bias_constraint;
  delete u.config.activity_regularizer;
  if (layer.class_name === 'Dense') {
    u.config.units = f.rank;
  } else {
    u.config.filters = f.rank;
    const dims = Array.isArray(c.kernel_size) ? c.kernel_size.length : 1;
    const ones = Array(dims).fill(1);
    Object.assign(v.config, { kernel_size: ones, strides: ones, dilation_rate: ones, padding: 'valid' });
  }
  // Only the first layer of a Sequential carries the input shape.
  delete v.config.batch_input_shape; delete v.config.input_shape;
  if (layer.inbound_nodes !== undefined) {
    u.inbound_nodes = layer.inbound_nodes;
    v.inbound_nodes = [[[`${name}_u`, 0, 0, {}]]];
    u.name = `${name}_u`; v.name = `${name}_v`;
  }
  return [u, v];
}

/** Replaces references to `from` (functional models' inbound_nodes / output_layers) by `to`. */
function renameRefs(node: unknown, from: string, to: string): unknown {
  if (Array.isArray(node)) {
    if (node.length >= 3 && node[0] === from && typeof node[1] === 'number') return [to, ...node.slice(1)];
    return node.map((x) => renameRefs(x, from, to));
  }
  if (node && typeof node === 'object') {
    const o = node as Json;
    if (o.inbound_layers === from) return { ...o, inbound_layers: to };
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, renameRefs(v, from, to)]));
  }
  return node;
}

export function rewriteTopology(topology: Json, factors: ReadonlyMap<string, FactorShape>, path: string): Json {
  const visit = (model: Json): Json => {
    const config = model.config as Json | KerasLayer[];
    const list = (Array.isArray(config) ? config : (config as Json).layers) as KerasLayer[] | undefined;
    if (!Array.isArray(list)) throw new InputError(path, 'model topology has no layer list');
    let layers: KerasLayer[] = [];
    const renamed: [string, string][] = [];
    for (const l of list) {
      if ((l.config as Json)?.layers) { layers.push(visit(l as unknown as Json) as unknown as KerasLayer); continue; }
      const f = factors.get(l.config?.name);
      if (!f) { layers.push(l); continue; }
      if (!['Dense', 'Conv1D', 'Conv2D', 'Conv3D'].includes(l.class_name)) throw new InputError(path, `cannot factorise ${l.class_name} layer ${l.config.name}`);
      layers.push(...splitLayer(l, f));
      renamed.push([l.config.name, `${l.config.name}_v`]);
    }
    let newConfig: Json | KerasLayer[] = Array.isArray(config) ? layers : { ...config, layers };
    for (const [from, to] of renamed) {
      layers = layers.map((l) => (l.name === `${from}_u` ? l : (renameRefs(l, from, to) as KerasLayer)));
      newConfig = Array.isArray(config) ? layers : { ...(renameRefs({ ...config, layers: [] }, from, to) as Json), layers };
    }
    return { ...model, config: newConfig };
  };
  const t = topology as Json;
  return t.model_config ? { ...t, model_config: visit(t.model_config as Json) } : visit(t);
}

export async function writeTfjsLayers(model: TfjsModel, source: FactorSource, out: string, sink: OutputSink, opts: WriteOptions): Promise<void> {
  // The weights manifest goes first, so every factor is laid out before any is written.
  const factors = await loadAll(source);
  const json = model.extra as { modelTopology: Json };
  await writeTfjsFiles(model, factors, out, sink, opts, {
    topology: rewriteTopology(json.modelTopology, factors, model.path),
    factorTensors(f, t) {
      const kernelShape = t.shape;
      const lead = kernelShape.slice(0, -1); // kernel dims × cin
      return [
        { name: `${f.layer.name}_u/kernel`, shape: [...lead, f.rank], values: f.a },
        { name: `${f.layer.name}_v/kernel`, shape: [...Array(kernelShape.length - 2).fill(1), f.rank, kernelShape[kernelShape.length - 1]], values: f.b },
      ];
    },
    biasName: (f) => `${f.layer.name}_v/bias`,
  });
}
