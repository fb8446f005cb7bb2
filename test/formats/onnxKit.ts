// Shared by the ONNX tests: fixtures, numpy-made factors, writing through the atomic sink,
// and the reference tools (python onnx checker, onnxruntime).
import { join } from 'node:path';
import type { Factorisation, StorageDType } from '../../core/compress/types.js';
import { readOnnx, type OnnxModel } from '../../core/formats/onnx/read.js';
import { writeOnnx } from '../../core/formats/onnx/write.js';
import { AtomicOutput } from '../../core/io/atomicOutput.js';
import type { Layer } from '../../core/types.js';
import { makeFixtures, tempDir } from '../helpers/cli.js';
import { oneLayerAtATime } from '../helpers/factors.js';
import { python } from '../helpers/python.js';

export const fixtures = makeFixtures('test/fixtures/make_onnx.py');
export const fixture = (name: string): string => join(fixtures, name);

const f32 = (b: Buffer): Float32Array => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
const bytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Truncated SVD factors by numpy: A = U_k·√Σ_k, B = √Σ_k·V_kᵀ (the contract of Factorisation). */
export function numpyFactors(w: Float32Array, layer: Layer, rank: number): Factorisation {
  const { rows, cols } = layer.matrix;
  const out = f32(python(
    'import sys,numpy as np;m,n,k=map(int,sys.argv[1:4]);w=np.frombuffer(sys.stdin.buffer.read(),dtype="<f4").reshape(m,n).astype(np.float64)\n'
    + 'u,s,vt=np.linalg.svd(w,full_matrices=False);r=np.sqrt(s[:k]);a=u[:,:k]*r;b=r[:,None]*vt[:k]\n'
    + 'e=np.linalg.norm(w-a@b)/np.linalg.norm(w);sys.stdout.buffer.write(np.concatenate([a.ravel(),b.ravel(),[e]]).astype("<f4").tobytes())',
    bytes(w), [String(rows), String(cols), String(rank)],
  ));
  return { layer, rank, a: out.subarray(0, rows * rank), b: out.subarray(rows * rank, rows * rank + rank * cols), relativeError: out[out.length - 1] };
}

/** Factorises the named layers (default: every factorisable one) at `rank(layer)` and writes the result. */
export async function compressOnnx(path: string, rank: (l: Layer) => number, dtype?: StorageDType, only?: string[]): Promise<{ out: string; model: OnnxModel; factors: Map<string, Factorisation> }> {
  const model = await readOnnx(path);
  try {
    const factors = new Map<string, Factorisation>();
    for (const l of model.layers) {
      if (!l.factorisable || (only && !only.includes(l.name))) continue;
      factors.set(l.name, numpyFactors(await model.readMatrix(l), l, rank(l)));
    }
    const out = join(tempDir(), 'out.onnx');
    const sink = new AtomicOutput(model.files);
    await writeOnnx(model, oneLayerAtATime(factors), out, sink, { dtype });
    await sink.commit();
    return { out, model, factors };
  } finally {
    await model.close();
  }
}

export const fullRank = (l: Layer): number => Math.min(l.matrix.rows, l.matrix.cols);

/** onnx.checker.check_model with full shape inference; throws with the checker's message. */
export function checkModel(path: string): void {
  python('import sys,onnx;onnx.checker.check_model(onnx.load(sys.argv[1]),full_check=True)', undefined, [path]);
}

/** Facts about a file as the python onnx package reads them. */
export function describe(path: string): { ops: string[]; inits: Record<string, { dtype: number; dims: number[]; sha: string }>; inputs: string[]; outputs: string[]; opset: number; ir: number } {
  return JSON.parse(python(
    'import sys,json,hashlib,onnx;from onnx import numpy_helper as nh;m=onnx.load(sys.argv[1]);g=m.graph\n'
    + 'print(json.dumps({"ops":[n.op_type for n in g.node],"inits":{t.name:{"dtype":t.data_type,"dims":list(t.dims),"sha":hashlib.sha1(nh.to_array(t).tobytes()).hexdigest()} for t in g.initializer},'
    + '"inputs":[i.name for i in g.input],"outputs":[o.name for o in g.output],"opset":[o.version for o in m.opset_import if o.domain in ("","ai.onnx")][0],"ir":m.ir_version}))',
    undefined, [path],
  ).toString());
}

/** ‖a − b‖ / ‖b‖ */
export function relativeDifference(a: Float32Array, b: Float32Array): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / den);
}

/** Graphs the TF.js and PyTorch interpreters of ONNX (what fine-tuning trains) are each checked against onnxruntime on. */
export const INTERPRETER_CASES: [string, string][] = [
  ['the Fashion-MNIST CNN as PyTorch exports it (Div, Reshape, Conv, MaxPool, Shape → Gather → Unsqueeze → Concat, Gemm, Softmax)', 'examples/fashion-cnn/model.onnx'],
  ['PyTorch operators: dilated and depthwise Conv, BatchNormalization, LeakyRelu, padded MaxPool, Pad, AveragePool, Sigmoid, Mul, Flatten, Gemm, GELU (Erf), Tanh, LogSoftmax', fixture('ops.onnx')],
  ['a grouped Conv (groups 4) and a strided one', fixture('cnn.onnx')],
  ['MatMul + Add', fixture('mlp.onnx')],
  ['Gemm with transB, alpha and beta, then Tanh', fixture('gemm.onnx')],
  ['Gemm with transA', fixture('gemm-transa.onnx')],
  ['a weight held by a Constant node', fixture('constant.onnx')],
  ['opset 9', fixture('mlp-opset9.onnx')],
  ['Max and Min over several inputs, broadcasting a vector and a scalar', fixture('maxmin.onnx')],
];
