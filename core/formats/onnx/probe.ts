// An in-memory copy of an ONNX model whose graph also lists some intermediate values as
// outputs, so onnxruntime returns them (calibration reads each layer's input this way). The
// original file is only read: the writer, given no factors, copies it with any external data
// inlined, and the extra GraphProto.output fields are appended after the graph's own — protobuf
// merges repeated fields in order, so that is the same as listing them at the end.
import { factorsInMemory } from '../../compress/factorSource.js';
import { MemoryOutput } from '../../io/memoryOutput.js';
import { GRAPH_FIELD, MODEL_FIELD, type OnnxModel } from './read.js';
import { ValueInfoProto } from './schema.js';
import { writeOnnx } from './write.js';
import { concat, lengthPrefix, messageFields } from '../containers/protobuf.js';

export async function withOutputs(model: OnnxModel, values: string[]): Promise<Uint8Array> {
  const memory = new MemoryOutput();
  await writeOnnx(model, factorsInMemory(new Map()), model.path, memory, {});
  const copy = memory.bytes(model.path);
  // Values the graph already outputs are not listed twice.
  const listed = new Set(model.extra.entries.filter((e) => e.range.field === GRAPH_FIELD.output).map((e) => e.name));
  const outputs = values.filter((name) => !listed.has(name)).flatMap((name) => {
    // A name-only ValueInfo: onnxruntime takes the type the graph gives the value.
    const body = ValueInfoProto.encode(ValueInfoProto.create({ name })).finish();
    return [lengthPrefix(GRAPH_FIELD.output, body.length), body];
  });
  const extra = outputs.reduce((s, b) => s + b.length, 0);
  return concat(messageFields(copy, 0, copy.length).flatMap((f) => f.field === MODEL_FIELD.graph && f.wire === 2
    ? [lengthPrefix(MODEL_FIELD.graph, f.end - f.dataStart + extra), copy.subarray(f.dataStart, f.end), ...outputs]
    : [copy.subarray(f.start, f.end)]));
}

