// TF.js layers and graph models: a JSON file with a `weightsManifest` plus binary shards.
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConcatSource, FileSource, readRegularFile, type ByteSource } from '../../io/byteSource.js';
import { DTYPE_BYTES, checkedSize } from '../../io/decode.js';
import { openInside } from '../../io/insideFolder.js';
import type { DType, Layer, LayerKind } from '../../types.js';
import { InputError } from '../../types.js';
import { StoredModel, type MatrixLayout, type StoredTensor } from '../storedModel.js';
import { isKeyOf, jsonText } from '../../text/jsonText.js';
import { keepRepeatsOnce } from './repeatedWeights.js';

export interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: 'uint8' | 'uint16' | 'float16'; scale?: number; min?: number };
}
export interface ManifestGroup { paths: string[]; weights: ManifestWeight[] }

interface KerasLayerJson { class_name: string; config: Record<string, unknown> & { name?: string; layers?: unknown } }

const MAX_JSON = 256 * 1024 * 1024;

type TfjsKind = 'layers' | 'graph' | undefined;

/**
 * The last file's answer, keyed by its size and modification time: the two TF.js modules' content
 * checks ask in turn about the same file, which should be read and parsed once, not twice.
 */
let lastKind: { key: string; kind: Promise<TfjsKind> } | undefined;

/** Which TF.js model a JSON file is, if any: what tells the two TF.js format modules apart. */
export async function tfjsKind(path: string): Promise<TfjsKind> {
  if (!path.endsWith('.json')) return undefined;
  const st = await stat(path).catch(() => undefined);
  if (!st) return undefined;
  const key = `${path}\0${st.size}\0${st.mtimeMs}`;
  if (lastKind?.key !== key) lastKind = { key, kind: parseKind(path) };
  return lastKind.kind;
}

async function parseKind(path: string): Promise<TfjsKind> {
  try {
    const j = JSON.parse(new TextDecoder().decode(await readRegularFile(path, MAX_JSON)));
    if (!Array.isArray(j?.weightsManifest)) return undefined;
    return isGraph(j) ? 'graph' : 'layers';
  } catch { return undefined; }
}

export async function isTfjsJson(path: string): Promise<boolean> {
  return (await tfjsKind(path)) !== undefined;
}

function isGraph(json: TfjsJson): boolean {
  return json.format === 'graph-model' || (json.modelTopology as { node?: unknown } | undefined)?.node !== undefined;
}

/** The model JSON as read: its topology (layers or GraphDef) is what the writers rewrite. */
export interface TfjsJson { format?: string; modelTopology?: unknown; weightsManifest?: ManifestGroup[]; [key: string]: unknown }
/** A TF.js layers or graph model as read. */
export type TfjsModel = StoredModel<TfjsJson>;

export async function readTfjs(path: string): Promise<TfjsModel> {
  const src = await FileSource.open(path);
  if (src.size > MAX_JSON) { await src.close(); throw new InputError(path, 'model JSON is larger than 256 MB'); }
  const text = new TextDecoder().decode(await src.read(0, src.size));
  let fileBytes = src.size;
  await src.close();
  let json: TfjsJson;
  try { json = JSON.parse(text); } catch (e) { throw new InputError(path, `invalid JSON (${(e as Error).message})`); }
  if (!Array.isArray(json.weightsManifest)) throw new InputError(path, 'not a TF.js model: no weightsManifest');
  const dir = dirname(path);
  const sources: ByteSource[] = [];
  const opened: FileSource[] = [];
  const files = [path];
  const tensors: StoredTensor[] = [];
  try {
    for (const group of json.weightsManifest) {
      if (!Array.isArray(group?.paths) || !Array.isArray(group?.weights)) throw new InputError(path, 'malformed weightsManifest group');
      const parts: FileSource[] = [];
      for (const p of group.paths) {
        const part = await openInside(path, dir, jsonText(p), 'weight file');
        parts.push(part);
        opened.push(part);
        files.push(part.path);
        fileBytes += part.size;
      }
      const source = new ConcatSource(parts);
      sources.push(source);
      let offset = 0;
      for (const w of group.weights) {
        if (typeof w?.name !== 'string') throw new InputError(path, 'a weightsManifest entry has no name');
        const count = checkedSize(w.shape);
        if (count === undefined) throw new InputError(path, `weight ${w.name} has an invalid shape`);
        const q = w.quantization;
        const dtype = (q ? q.dtype : w.dtype) as DType;
        if (!isKeyOf(DTYPE_BYTES, dtype)) throw new InputError(path, `weight ${w.name} has unsupported dtype ${jsonText(q ? q.dtype : w.dtype)}`);
        const storedBytes = count * DTYPE_BYTES[dtype];
        if (offset + storedBytes > source.size) throw new InputError(path, `weights truncated: ${w.name} needs bytes up to ${offset + storedBytes}, shards hold ${source.size}`);
        const affine = q && q.dtype !== 'float16' ? { scale: affineParam(path, w.name, q, 'scale', 1), min: affineParam(path, w.name, q, 'min', 0) } : undefined;
        tensors.push({ name: w.name, shape: w.shape, dtype, storedBytes, source, offset, affine });
        offset += storedBytes;
      }
    }
    if (!isGraph(json)) {
      const layers = layersModelLayers(json.modelTopology, new Map(tensors.map((t) => [t.name, t])));
      return new StoredModel({ format: 'tfjs-layers', path, files, fileBytes, tensors, layers, sources, extra: json });
    }
    const signature = JSON.stringify(json.signature ?? {});
    const kept = await keepRepeatsOnce(tensors, graphNodes(path, json.modelTopology), (name) => signature.includes(`"${name}"`) || signature.includes(`"${name}:`));
    const extra = kept.shared ? { ...json, modelTopology: { ...json.modelTopology as object, node: kept.nodes } } : json;
    const layers = graphLayers(kept.nodes, new Map(kept.tensors.map((t) => [t.name, t])));
    return new StoredModel({ format: 'tfjs-graph', path, files, fileBytes, tensors: kept.tensors, shared: kept.shared, layers, sources, extra });
  } catch (e) {
    // Every shard opened so far, including those of a group that failed half-way.
    await Promise.all(opened.map((s) => s.close()));
    throw e;
  }
}

/**
 * A quantization `scale` or `min`: a finite number or absent. JSON reads `1e999` as Infinity,
 * which would dequantize every weight to ±Infinity or NaN; refused here, naming the tensor.
 */
function affineParam(path: string, tensor: string, q: Record<string, unknown>, key: 'scale' | 'min', absent: number): number {
  const v = q[key];
  if (v === undefined || v === null) return absent;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new InputError(path, `weight ${tensor}: quantization ${key} must be a finite number, got ${typeof v === 'number' ? String(v) : JSON.stringify(v).slice(0, 40)}`);
  }
  return v;
}

export const LAYER_KINDS: Record<string, LayerKind> = {
  Dense: 'dense', Conv1D: 'conv1d', Conv2D: 'conv2d', Conv3D: 'conv3d',
  Conv2DTranspose: 'conv-transpose', Conv3DTranspose: 'conv-transpose',
  DepthwiseConv2D: 'depthwise', Embedding: 'embedding', LSTM: 'lstm', GRU: 'gru',
};
export const KERNEL_NAMES: Partial<Record<LayerKind, string>> = { depthwise: 'depthwise_kernel', embedding: 'embeddings' };

/** Flattens the Keras topology of a layers model (Sequential or functional, nested). */
export function kerasLayers(topology: unknown): KerasLayerJson[] {
  const out: KerasLayerJson[] = [];
  const visit = (node: unknown): void => {
    const n = node as { model_config?: unknown; config?: { layers?: unknown }; class_name?: string };
    if (!n || typeof n !== 'object') return;
    if (n.model_config) return visit(n.model_config);
    const list = Array.isArray(n.config) ? n.config : n.config?.layers;
    if (!Array.isArray(list)) return;
    for (const l of list as KerasLayerJson[]) {
      if (l?.config?.layers) visit(l);
      else if (typeof l?.class_name === 'string') out.push(l);
    }
  };
  visit(topology);
  return out;
}

function layersModelLayers(topology: unknown, byName: Map<string, StoredTensor>): (Layer & MatrixLayout)[] {
  const layers: (Layer & MatrixLayout)[] = [];
  for (const l of kerasLayers(topology)) {
    const kind = LAYER_KINDS[l.class_name];
    const name = jsonText(l.config?.name ?? '');
    if (!kind || !name) continue;
    const kernelName = KERNEL_NAMES[kind] ?? 'kernel';
    const weight = findWeight(byName, name, kernelName);
    if (!weight) continue;
    layers.push(kerasLayer(name, kind, weight, findWeight(byName, name, 'bias')));
  }
  return layers;
}

/** A Keras layer's matrix view (TF.js and Keras files store kernels alike): [..., cin, cout] → prod(..)·cin × cout. */
export function kerasLayer(name: string, kind: LayerKind, weight: StoredTensor, bias?: StoredTensor): Layer & MatrixLayout {
  const shape = weight.shape;
  const cols = kind === 'embedding' ? shape[1] : shape[shape.length - 1];
  const rows = shape.reduce((a, b) => a * b, 1) / (cols || 1);
  return {
    name, kind, shape, matrix: { rows, cols }, params: rows * cols, dtype: weight.dtype,
    weight: weight.name, bias: bias?.name, transposed: false,
    factorisable: kind === 'dense' || kind === 'conv1d' || kind === 'conv2d' || kind === 'conv3d' || kind === 'embedding',
  };
}

/** Weights are named `<layer>/<kernel>`, possibly with a scope prefix. */
function findWeight(byName: Map<string, StoredTensor>, layer: string, leaf: string): StoredTensor | undefined {
  const exact = byName.get(`${layer}/${leaf}`);
  if (exact) return exact;
  for (const [n, t] of byName) if (n.endsWith(`/${layer}/${leaf}`)) return t;
  return undefined;
}

/** A GraphDef attribute value as the converter writes it in JSON (ints as strings, bytes base64). */
export interface GraphAttr { b?: boolean; s?: string; i?: string; list?: { i?: string[]; s?: string[] }; tensor?: Record<string, unknown>; [k: string]: unknown }
/** A GraphDef node of a graph model's `modelTopology.node`. */
export interface GraphNode { name: string; op: string; input?: string[]; attr?: Record<string, GraphAttr>; [k: string]: unknown }

const GRAPH_OPS: Record<string, LayerKind> = {
  MatMul: 'matmul', _FusedMatMul: 'matmul', Conv2D: 'conv2d', _FusedConv2D: 'conv2d',
  DepthwiseConv2dNative: 'depthwise', FusedDepthwiseConv2dNative: 'depthwise',
};

/** The GraphDef's nodes, refused unless each has a string name and op and string inputs (the writer relies on it). */
function graphNodes(path: string, topology: unknown): GraphNode[] {
  const nodes = (topology as { node?: unknown } | undefined)?.node ?? [];
  if (!Array.isArray(nodes)) throw new InputError(path, 'modelTopology.node is not a list');
  for (const [i, n] of nodes.entries()) {
    const ok = n && typeof n === 'object' && typeof n.name === 'string' && typeof n.op === 'string'
      && (n.input === undefined || (Array.isArray(n.input) && n.input.every((x: unknown) => typeof x === 'string')))
      && (n.attr === undefined || (typeof n.attr === 'object' && n.attr !== null && !Array.isArray(n.attr)));
    if (!ok) throw new InputError(path, `graph node ${i} is malformed`);
  }
  return nodes as GraphNode[];
}

function graphLayers(nodes: GraphNode[], byName: Map<string, StoredTensor>): (Layer & MatrixLayout)[] {
  const layers: (Layer & MatrixLayout)[] = [];
  // A weight that feeds several nodes cannot be swapped for factors under one of them; it is
  // listed once, under the first, so its parameters are counted once.
  const uses = new Map<string, number>();
  const listed = new Set<string>();
  for (const node of nodes) for (const i of node.input ?? []) { const n = tensorName(i); uses.set(n, (uses.get(n) ?? 0) + 1); }
  for (const node of nodes) {
    const kind = isKeyOf(GRAPH_OPS, node.op) ? GRAPH_OPS[node.op] : undefined;
    if (!kind || !node.input || node.input.length < 2) continue;
    const wName = tensorName(node.input[1]);
    const weight = byName.get(wName);
    if (!weight || weight.shape.length < 2 || listed.has(wName)) continue;
    listed.add(wName);
    const shape = weight.shape;
    const transposed = kind === 'matmul' && node.attr?.transpose_b?.b === true;
    const cols = transposed ? shape[0] : shape[shape.length - 1];
    const rows = shape.reduce((a, b) => a * b, 1) / (cols || 1);
    const biasName = node.op.startsWith('_Fused') && node.input[2] ? tensorName(node.input[2]) : undefined;
    layers.push({
      name: node.name, kind, shape, matrix: { rows, cols }, params: rows * cols, dtype: weight.dtype,
      weight: weight.name, bias: biasName && byName.has(biasName) ? biasName : undefined, transposed,
      factorisable: kind !== 'depthwise' && uses.get(wName) === 1,
    });
  }
  return layers;
}

/** A node input (`name`, `name:0`, control dependency `^name`) → the producing node's name. */
function tensorName(input: string): string {
  return input.replace(/^\^/, '').replace(/:0$/, '');
}
