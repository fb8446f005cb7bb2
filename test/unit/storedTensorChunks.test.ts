// StoredModel reads a tensor bigger than its read chunk (8 MiB) a chunk at a time, where its
// source cannot read straight into floats (HDF5 datasets, zip entries, float16): the values
// are the same as one decode of the whole tensor, and the NaN scan of a model a job runs
// (checkNoNaN) names the tensor and the element past the first chunk, with its layer if any.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StoredModel, type StoredTensor } from '../../core/formats/storedModel.js';
import { MemorySource } from '../../core/io/byteSource.js';
import { decodeToFloat32, floatToHalf } from '../../core/io/decode.js';
import type { DType } from '../../core/types.js';

const COUNT = 3 * 2 ** 20 + 5; // float32: 12 MiB + 20 bytes, two chunks and a bit

function modelOf(dtype: DType, values: Float32Array, layer = false): StoredModel {
  const width = dtype === 'float16' ? 2 : 4;
  const bytes = new Uint8Array(values.length * width);
  const dv = new DataView(bytes.buffer);
  values.forEach((v, i) => (width === 2 ? dv.setUint16(i * 2, floatToHalf(v), true) : dv.setFloat32(i * 4, v, true)));
  const source = new MemorySource(bytes);
  const t: StoredTensor = { name: 'w', shape: [values.length], dtype, storedBytes: bytes.length, source, offset: 0 };
  const layers = layer ? [{ name: 'fc', kind: 'linear' as const, shape: [1, values.length], matrix: { rows: 1, cols: values.length }, params: values.length, dtype, weight: 'x', bias: 'w', transposed: false, factorisable: true }] : [];
  return new StoredModel({ format: 'safetensors', path: 'm.safetensors', files: ['m.safetensors'], fileBytes: bytes.length, tensors: [t], layers, sources: [source], extra: undefined });
}

const ramp = (): Float32Array => new Float32Array(COUNT).map((_, i) => (i % 1000) / 8 - 60);

for (const dtype of ['float32', 'float16'] as const) {
  test(`${dtype}: a tensor of several chunks reads as one decode of it`, async () => {
    const m = modelOf(dtype, ramp());
    const whole = decodeToFloat32(await m.tensors[0].source.read(0, m.tensors[0].storedBytes), dtype);
    assert.deepEqual(await m.readTensor('w'), whole);
  });
}

test('checkNoNaN names the tensor and the element past the first chunk; ±Infinity passes', async () => {
  const v = ramp();
  v[10] = -Infinity; v[20] = Infinity;
  await modelOf('float32', v).checkNoNaN();
  v[COUNT - 2] = NaN;
  await assert.rejects(modelOf('float32', v).checkNoNaN(), { message: `m.safetensors: tensor w holds NaN at element ${COUNT - 2}: weights must be finite` });
  await assert.rejects(modelOf('float16', v, true).checkNoNaN(), { message: `m.safetensors: tensor w (layer fc) holds NaN at element ${COUNT - 2}: weights must be finite` });
});
