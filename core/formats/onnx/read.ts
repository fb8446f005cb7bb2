// ONNX models: a protobuf ModelProto. Layers are the weights (initializers or Constant node
// tensors) feeding MatMul, Gemm and Conv. The model file (protobuf caps one message at 2 GB;
// larger models keep their tensors in external data files) is walked field by field with
// checked lengths, and tensors stay on disk as byte ranges read on demand.
import { dirname } from 'node:path';
import { FileSource, MAX_READ } from '../../io/byteSource.js';
import type { Layer, LayerKind } from '../../types.js';
import { InputError } from '../../types.js';
import { NodeProto, OperatorSetIdProto, TensorProto, ValueInfoProto, int64, type Int64, type NodeMessage, type TensorMessage } from './schema.js';
import { ExternalFiles, onnxTensor, type OnnxTensor, type RawAt } from './tensors.js';
import { concat, sourceFields, varint, WINDOW, type FieldRange } from '../containers/protobuf.js';
import { StoredModel, type MatrixLayout } from '../storedModel.js';

/** ModelProto and GraphProto field numbers the reader and writer look at. */
export const MODEL_FIELD = { irVersion: 1, graph: 7, opsetImport: 8 } as const;
export const GRAPH_FIELD = { node: 1, initializer: 5, input: 11, output: 12, valueInfo: 13 } as const;
export const TENSOR_FIELD = { rawData: 9, externalData: 13, dataLocation: 14 } as const;

/** One field of the GraphProto with what the writer needs to know about it. */
export interface GraphEntry {
  range: FieldRange;
  node?: NodeMessage;
  /** Initializer name, or the value name of an input / output / value_info. */
  name?: string;
}

/** What readOnnx keeps for writeOnnx (StoredModel.extra). */
export interface OnnxGraph {
  irVersion: number;
  /** Version of the default ("ai.onnx") operator set. */
  opset: number;
  topFields: FieldRange[];
  graph: FieldRange;
  entries: GraphEntry[];
  /** Layer name → index in entries of the node that uses the weight. */
  layerNodes: Map<string, number>;
  /** Every value and tensor name, so new names can avoid them. */
  names: Set<string>;
  /** Initializers whose bytes live in external data files (the writer inlines them). */
  external: Set<string>;
  /** The model file, open while the model is: the writer and the interpreter read it here, not by opening it again. */
  file: FileSource;
}

const LAYER_OPS = new Set(['MatMul', 'Gemm', 'Conv']);
const CONV_KINDS: LayerKind[] = ['conv1d', 'conv2d', 'conv3d'];

export const isDefaultDomain = (n: NodeMessage): boolean => !n.domain || n.domain === 'ai.onnx';
export function intAttr(n: NodeMessage, name: string, fallback: number): number {
  const a = n.attribute.find((x) => x.name === name);
  return a?.i !== undefined && a.i !== null ? int64(a.i as Int64) : fallback;
}

export function intsAttr(n: NodeMessage, name: string): number[] | undefined {
  return n.attribute.find((x) => x.name === name)?.ints?.map((v) => int64(v));
}

export function stringAttr(n: NodeMessage, name: string): string | undefined {
  const s = n.attribute.find((x) => x.name === name)?.s;
  return s && new TextDecoder().decode(s);
}

/** Names of the graph's initializers (its stored tensors, as opposed to Constant nodes' and graph inputs). */
export function initializerNames(g: OnnxGraph): Set<string> {
  return new Set(g.entries.filter((e) => e.range.field === GRAPH_FIELD.initializer && e.name).map((e) => e.name!));
}

/**
 * A Conv's or pool's window over its `spatial` axes: strides, dilations and padding, as explicit
 * [before, after] pairs per axis or as TF's 'same' / 'valid'; undefined for auto_pad SAME_LOWER,
 * which TF's padding cannot express. The one reading of these attributes, for every consumer
 * that re-runs a window in TF.js (whitening's patches, fine-tuning's graph).
 */
export interface OnnxWindow { strides: number[]; dilations: number[]; padding: 'same' | 'valid' | [number, number][] }

export function onnxWindow(n: NodeMessage, spatial: number): OnnxWindow | undefined {
  const ones = Array<number>(spatial).fill(1);
  const strides = intsAttr(n, 'strides') ?? ones, dilations = intsAttr(n, 'dilations') ?? ones;
  const auto = stringAttr(n, 'auto_pad') ?? 'NOTSET';
  // TF's 'same' puts the odd pad after, as SAME_UPPER does.
  if (auto === 'SAME_UPPER') return { strides, dilations, padding: 'same' };
  if (auto === 'VALID') return { strides, dilations, padding: 'valid' };
  if (auto !== 'NOTSET') return undefined;
  // ONNX pads list every axis's start, then every axis's end.
  const pads = intsAttr(n, 'pads') ?? Array<number>(2 * spatial).fill(0);
  return { strides, dilations, padding: Array.from({ length: spatial }, (_, i): [number, number] => [pads[i], pads[i + spatial]]) };
}

/** An ONNX model as read: its tensors plus the graph the writer splices and the runners run. */
export type OnnxModel = StoredModel<OnnxGraph>;

export async function readOnnx(path: string): Promise<OnnxModel> {
  const src = await FileSource.open(path);
  const external = new ExternalFiles(path, dirname(path));
  const close = (): Promise<unknown> => Promise.all([src, ...external.opened.values()].map((s) => s.close()));
  try {
    if (src.size > MAX_READ) throw new InputError(path, `${src.size} bytes is over the 2 GB protobuf limit of one .onnx file`);
    return await parseModel(src, external, path);
  } catch (e) {
    await close();
    if (e instanceof InputError) throw e;
    // Wire errors and protobufjs decode errors (lengths past the end, bad tags) mean a corrupt file.
    throw new InputError(path, `not a valid ONNX model (${(e as Error).message})`);
  }
}

/**
 * Walks the file field by field (onnxWire's sourceFields) instead of reading it whole, which
 * for a model of inline weights was the peak of a whole compression: what is read is the
 * structure, and the weights stay on disk.
 */
async function parseModel(src: FileSource, external: ExternalFiles, path: string): Promise<OnnxModel> {
  const isGraph = (f: FieldRange): boolean => f.field === MODEL_FIELD.graph && f.wire === 2;
  const topFields: FieldRange[] = [];
  let irVersion: number | undefined;
  let opset = 1;
  for await (const { range: f, bytes } of sourceFields(src, 0, src.size, isGraph)) {
    const payload = bytes?.subarray(f.dataStart - f.start);
    topFields.push(f);
    if (f.field === MODEL_FIELD.irVersion && f.wire === 0 && irVersion === undefined) irVersion = varint(payload!, 0, payload!.length)[0];
    if (f.field !== MODEL_FIELD.opsetImport || f.wire !== 2) continue;
    const o = OperatorSetIdProto.decode(payload!) as unknown as { domain?: string; version?: Int64 };
    if (!o.domain || o.domain === 'ai.onnx') opset = int64(o.version);
  }
  const graphs = topFields.filter(isGraph);
  if (graphs.length !== 1) throw new InputError(path, graphs.length ? 'not a valid ONNX model (several graphs)' : 'not an ONNX model (no graph)');
  const graph = graphs[0];
  if (irVersion === undefined) throw new InputError(path, 'not an ONNX model (no ir_version)');

  const entries: GraphEntry[] = [];
  const tensors: OnnxTensor[] = [];
  const names = new Set<string>();
  const addTensor = async (msg: TensorMessage, name: string, raw: RawAt | undefined): Promise<void> => {
    const t = await onnxTensor(msg, name, raw, src, external, path);
    if (t) tensors.push(t);
  };
  // Initializers bigger than a read window are walked inside too, their raw_data left on disk.
  const bigTensor = (f: FieldRange): boolean => f.field === GRAPH_FIELD.initializer && f.wire === 2 && f.end - f.start > WINDOW;
  for await (const { range, bytes } of sourceFields(src, graph.dataStart, graph.end, bigTensor)) {
    const entry: GraphEntry = { range };
    if (range.wire !== 2) { entries.push(entry); continue; }
    const body = bytes?.subarray(range.dataStart - range.start);
    if (!body) {
      const { msg, raw } = await tensorHead(src, range);
      entry.name = msg.name ?? '';
      await addTensor(msg, entry.name, raw);
    } else if (range.field === GRAPH_FIELD.node) {
      const node = NodeProto.decode(body) as unknown as NodeMessage;
      node.output.forEach((o) => names.add(o));
      const value = node.opType === 'Constant' && isDefaultDomain(node) ? node.attribute.find((a) => a.name === 'value')?.t : undefined;
      if (value && node.output[0]) await addTensor(value, node.output[0], rawIn(value, body, range.dataStart));
      entry.node = retained(node);
    } else if (range.field === GRAPH_FIELD.initializer) {
      const msg = TensorProto.decode(body) as unknown as TensorMessage;
      entry.name = msg.name ?? '';
      await addTensor(msg, entry.name, rawIn(msg, body, range.dataStart));
    } else if (range.field === GRAPH_FIELD.input || range.field === GRAPH_FIELD.output || range.field === GRAPH_FIELD.valueInfo) {
      entry.name = (ValueInfoProto.decode(body) as unknown as { name?: string }).name ?? '';
    }
    if (entry.name) names.add(entry.name);
    entries.push(entry);
  }

  const { layers, layerNodes } = findLayers(entries, tensors);
  const files = [path, ...[...external.opened.values()].map((s) => s.path)];
  const fileBytes = src.size + [...external.opened.values()].reduce((s, f) => s + f.size, 0);
  const externalNames = new Set(tensors.filter((t) => t.external).map((t) => t.name));
  const extra: OnnxGraph = { irVersion, opset, topFields, graph, entries, layerNodes, names, external: externalNames, file: src };
  return new StoredModel({ format: 'onnx', path, files, fileBytes, tensors, layers, sources: [src, ...external.opened.values()], extra });
}

/** Where the raw_data of a tensor decoded from `body` (which starts at file offset `at`) sits in the file. */
function rawIn(msg: TensorMessage, body: Uint8Array, at: number): RawAt | undefined {
  const raw = msg.rawData;
  return raw?.byteLength ? { offset: at + raw.byteOffset - body.byteOffset, length: raw.byteLength } : undefined;
}

/** An initializer too big to read whole: decoded from its other fields, its raw_data only located. */
async function tensorHead(src: FileSource, range: FieldRange): Promise<{ msg: TensorMessage; raw?: RawAt }> {
  const kept: Uint8Array[] = [];
  let raw: RawAt | undefined;
  for await (const { range: f, bytes } of sourceFields(src, range.dataStart, range.end, (x) => x.field === TENSOR_FIELD.rawData && x.wire === 2)) {
    // The last raw_data counts, as in a protobuf decode.
    if (bytes) kept.push(bytes);
    else raw = { offset: f.dataStart, length: f.end - f.dataStart };
  }
  return { msg: TensorProto.decode(concat(kept)) as unknown as TensorMessage, raw };
}

/**
 * What the writer needs of a node. Decoded bytes fields are views of a read buffer (the read
 * window, or one node's bytes), so keeping them would pin it in memory: only layer nodes keep
 * attributes, with copied bytes.
 */
function retained(n: NodeMessage): NodeMessage {
  const attribute = LAYER_OPS.has(n.opType) ? n.attribute.map((a) => ({ ...a, s: a.s?.slice(), t: undefined })) : [];
  return { input: n.input, output: n.output, name: n.name ?? '', opType: n.opType ?? '', domain: n.domain ?? '', attribute };
}

function findLayers(entries: GraphEntry[], tensors: OnnxTensor[]): { layers: (Layer & MatrixLayout)[]; layerNodes: Map<string, number> } {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const uses = new Map<string, number>();
  /** Value name → the nodes reading it. */
  const readers = new Map<string, NodeMessage[]>();
  const nodeNames = new Map<string, number>();
  for (const e of entries) {
    if (e.node) {
      for (const i of e.node.input) {
        uses.set(i, (uses.get(i) ?? 0) + 1);
        readers.set(i, [...readers.get(i) ?? [], e.node]);
      }
      if (e.node.name) nodeNames.set(e.node.name, (nodeNames.get(e.node.name) ?? 0) + 1);
    }
    // A weight that is also a graph output cannot be replaced by factors.
    if (e.range.field === GRAPH_FIELD.output && e.name) uses.set(e.name, (uses.get(e.name) ?? 0) + 1);
  }
  const layers: (Layer & MatrixLayout)[] = [];
  const layerNodes = new Map<string, number>();
  entries.forEach((e, index) => {
    const node = e.node;
    if (!node || !isDefaultDomain(node) || !LAYER_OPS.has(node.opType)) return;
    const w = byName.get(node.input[1] ?? '');
    if (!w || !(w.dtype.startsWith('float') || w.dtype === 'bfloat16')) return;
    const view = matrixView(node, w.shape);
    if (!view) return;
    const biasName = node.opType === 'MatMul' ? addedBias(node, readers) : node.input[2];
    const name = node.name && nodeNames.get(node.name) === 1 && !layerNodes.has(node.name) ? node.name : w.name;
    if (layerNodes.has(name)) return;
    layerNodes.set(name, index);
    layers.push({
      name, kind: view.kind, shape: w.shape, matrix: { rows: view.rows, cols: view.cols }, params: view.rows * view.cols,
      dtype: w.dtype, weight: w.name, bias: biasName && byName.has(biasName) ? biasName : undefined,
      transposed: view.transposed, factorisable: view.factorisable && uses.get(w.name) === 1,
    });
  });
  return { layers, layerNodes };
}

/**
 * A MatMul's bias is the other operand of the Add that alone reads its output (how exporters
 * write a Linear or Dense where they do not use Gemm): the layer's bias as much as Gemm's C,
 * so it is checked with the weight and trained with the factors.
 */
function addedBias(matmul: NodeMessage, readers: Map<string, NodeMessage[]>): string | undefined {
  const out = matmul.output[0];
  const users = readers.get(out) ?? [];
  return users.length === 1 && users[0].opType === 'Add' ? users[0].input.find((name) => name !== out) : undefined;
}

interface MatrixView { kind: LayerKind; rows: number; cols: number; transposed: boolean; factorisable: boolean }

/** The matrix view of the weight (input 1) of a MatMul, Gemm or Conv node. */
function matrixView(node: NodeMessage, shape: number[]): MatrixView | undefined {
  if (node.opType === 'MatMul') {
    return shape.length === 2 ? { kind: 'matmul', rows: shape[0], cols: shape[1], transposed: false, factorisable: true } : undefined;
  }
  if (node.opType === 'Gemm') {
    if (shape.length !== 2) return undefined;
    // transB=1 stores W as [out, in]; the matrix view is always in×out.
    const t = intAttr(node, 'transB', 0) === 1;
    return { kind: 'gemm', rows: t ? shape[1] : shape[0], cols: t ? shape[0] : shape[1], transposed: t, factorisable: true };
  }
  const kind = CONV_KINDS[shape.length - 3];
  if (!kind) return undefined;
  // W is [cout, cin/group, k…]: the view is (cin/group)·prod(k) × cout, the stored tensor transposed.
  return { kind, rows: shape.slice(1).reduce((a, b) => a * b, 1), cols: shape[0], transposed: true, factorisable: intAttr(node, 'group', 1) === 1 };
}
