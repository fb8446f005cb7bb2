// Writes a factorised ONNX model by splicing the original file: every field of the ModelProto
// and GraphProto is copied byte for byte (unknown fields, metadata, functions included)
// except the nodes replaced by their factorised form, the weights they no longer use (and
// their graph input / value_info entries), and external-data tensors, which are inlined.
// The output is streamed; only new factors (one layer's at a time) and external tensors pass
// through memory.
import { checkRetrainedWritten, factorParams, type Factorisation, type FactorSource, type OutputFile, type Writer } from '../../compress/types.js';
import { FileSource } from '../../io/byteSource.js';
import { withReusedBuffer } from '../../io/layerBuffers.js';
import type { DType } from '../../types.js';
import { InputError } from '../../types.js';
import { GRAPH_FIELD, MODEL_FIELD, TENSOR_FIELD, type GraphEntry, type OnnxModel } from './read.js';
import { GraphEdit, encodeFloats, encodeInputFor, encodeNode, encodeTensorHead, type NewTensor } from './emit.js';
import { rewriteLayer } from './rewrite.js';
import { concat, lengthPrefix, messageFields } from '../containers/protobuf.js';

const STORAGE: Record<string, DType> = { f32: 'float32', f16: 'float16', int8: 'int8' };
const COPY_CHUNK = 16 * 1024 * 1024;
const MAX_MODEL = 2 ** 31 - 1;
/** TensorProto fields that hold or locate values: float_data, int32_data, raw_data, double_data, external_data, data_location. */
const VALUE_FIELDS = new Set([4, 5, TENSOR_FIELD.rawData, 10, TENSOR_FIELD.externalData, TENSOR_FIELD.dataLocation]);

/** A piece of output of known length, produced when its turn comes. */
interface Part { length: number; write(out: OutputFile): Promise<void> }

const bytesPart = (b: Uint8Array): Part => ({ length: b.length, write: (out) => out.write(b) });
const fieldPart = (field: number, body: Uint8Array): Part[] => [bytesPart(lengthPrefix(field, body.length)), bytesPart(body)];
/** A new initializer: its TensorProto, then its raw_data field straight from the factor. */
function tensorParts(t: NewTensor): Part[] {
  const head = encodeTensorHead(t);
  const raw = lengthPrefix(TENSOR_FIELD.rawData, t.rawBytes);
  return [
    bytesPart(lengthPrefix(GRAPH_FIELD.initializer, head.length + raw.length + t.rawBytes)), bytesPart(head), bytesPart(raw),
    { length: t.rawBytes, write: async (out) => out.write(await t.raw()) },
  ];
}

/**
 * Each layer's factors, loaded when the first of its initializers is written (they are
 * written layer by layer) into one buffer reused for every layer, given by `withBuffer`.
 */
function layerLoader(factors: FactorSource): { load(name: string): Promise<Factorisation>; withBuffer<T>(fn: () => Promise<T>): Promise<T> } {
  const most = Math.max(0, ...[...factors.shapes.values()].map(factorParams));
  let buffer: Float32Array | undefined;
  let current: { name: string; f: Promise<Factorisation> } | undefined;
  return {
    load(name) {
      if (!buffer) throw new Error(`factors of ${name} loaded outside the writer's buffer`);
      if (current?.name !== name) current = { name, f: factors.load(name, buffer) };
      return current.f;
    },
    withBuffer: (fn) => withReusedBuffer(most, async (b) => {
      buffer = b;
      try {
        return await fn();
      } finally {
        buffer = current = undefined;
      }
    }),
  };
}

export const writeOnnx: Writer<OnnxModel> = async (model, factors, out, sink, opts) => {
  const g = model.extra;
  const edit = new GraphEdit(new Set(g.names));
  const replaced = new Map<number, Uint8Array[]>();
  const dropped = new Set<string>();
  const loader = layerLoader(factors);
  for (const [name, f] of factors.shapes) {
    const layer = model.layers.find((l) => l.name === name);
    const index = g.layerNodes.get(name);
    if (!layer || index === undefined) throw new InputError(model.path, `no layer named ${name}`);
    if (!layer.factorisable) throw new InputError(model.path, `layer ${name} cannot be factorised`);
    const storage = opts.dtype ? STORAGE[opts.dtype] : layer.dtype;
    if (storage === 'int8' && g.opset < 10) throw new InputError(model.path, `int8 factors need DequantizeLinear (opset 10); the model uses opset ${g.opset}`);
    if (f.layout && g.opset < 10) throw new InputError(model.path, `re-laid-out factors need Slice with inputs (opset 10); the model uses opset ${g.opset}`);
    replaced.set(index, rewriteLayer(edit, g.entries[index].node!, layer, f, () => loader.load(name), storage).map(encodeNode));
    dropped.add(layer.weight);
  }

  const src = g.file;
  const copy = (start: number, end: number): Part => ({
    length: end - start,
    write: async (o) => { for (let p = start; p < end; p += COPY_CHUNK) await o.write(await src.read(p, Math.min(COPY_CHUNK, end - p))); },
  });
  const graphParts: Part[] = [];
  const written = new Set<string>();
  for (const [i, e] of g.entries.entries()) {
    const nodes = replaced.get(i);
    if (nodes) graphParts.push(...nodes.flatMap((n) => fieldPart(GRAPH_FIELD.node, n)));
    else if (isDropped(e, dropped)) continue;
    else if (e.range.field === GRAPH_FIELD.initializer && e.name && (g.external.has(e.name) || opts.retrained?.has(e.name))) {
      const t = model.tensor(e.name);
      const values = opts.retrained?.get(e.name);
      if (values) written.add(e.name);
      const data = values ? encodeFloats(values, t.dtype) : await t.source.read(t.offset, t.storedBytes);
      graphParts.push(...fieldPart(GRAPH_FIELD.initializer, await withRawData(e, src, data)));
    } else graphParts.push(copy(e.range.start, e.range.end));
  }
  checkRetrainedWritten(opts, (name) => written.has(name), model.path);
  for (const t of edit.initializers) graphParts.push(...tensorParts(t));
  // Before IR 4 every initializer had to be declared as a graph input too.
  if (g.irVersion < 4) for (const t of edit.initializers) graphParts.push(...fieldPart(GRAPH_FIELD.input, encodeInputFor(t)));

  const graphLength = graphParts.reduce((s, p) => s + p.length, 0);
  const parts: Part[] = [];
  for (const f of g.topFields) {
    if (f.field === MODEL_FIELD.graph) parts.push(bytesPart(lengthPrefix(MODEL_FIELD.graph, graphLength)), ...graphParts);
    else parts.push(copy(f.start, f.end));
  }
  const total = parts.reduce((s, p) => s + p.length, 0);
  if (total > MAX_MODEL) throw new InputError(model.path, `the factorised model would be ${total} bytes, over the 2 GB protobuf limit of one .onnx file`);
  const file = await sink.file(out);
  await loader.withBuffer(async () => { for (const p of parts) await p.write(file); });
};

/** The weight itself (initializer or Constant node) and its input / value_info declarations. */
function isDropped(e: GraphEntry, dropped: Set<string>): boolean {
  if (e.node) return e.node.opType === 'Constant' && dropped.has(e.node.output[0]);
  const declares = e.range.field === GRAPH_FIELD.initializer || e.range.field === GRAPH_FIELD.input || e.range.field === GRAPH_FIELD.valueInfo;
  return declares && e.name !== undefined && dropped.has(e.name);
}

/**
 * The initializer's TensorProto with `data` as its raw_data: its external data inlined, or
 * values that fine-tuning retrained (every other field, e.g. name, dims and type, kept).
 */
async function withRawData(e: GraphEntry, src: FileSource, data: Uint8Array): Promise<Uint8Array> {
  const body = await src.read(e.range.dataStart, e.range.end - e.range.dataStart);
  const kept = messageFields(body, 0, body.length)
    .filter((f) => !VALUE_FIELDS.has(f.field))
    .map((f) => body.subarray(f.start, f.end));
  return concat([...kept, lengthPrefix(TENSOR_FIELD.rawData, data.length), data]);
}
