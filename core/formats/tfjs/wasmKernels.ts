// Kernels tfjs-backend-wasm runs slowly on the shapes training makes, replaced in place
// (tf.registerKernel) with the same results. Measured on a distillation step of a 1.3 M
// parameter MLP (bench/finetune):
// - Products: XNNPACK's fast path is taken only when neither operand is transposed; with
//   transposeA or transposeB the backend falls back to a loop 10–25× slower (256×784 by
//   784×1024: 486 ms transposed vs 37 ms plain, same run). Every gradient of a product is two
//   transposed products (dA = dY·Bᵀ, dB = Aᵀ·dY), and PyTorch's Linear exports as Gemm with
//   transB. The operands are transposed first, then multiplied on the fast path.
// - Transposes: the backend's is a strided loop that misses the cache on every write; ours goes
//   by 32×32 tiles.
// - Sums over the leading axes (every bias gradient: dY summed over the batch): the backend
//   transposes the input to reduce its last axis; ours multiplies a row of ones by it.
type Tf = typeof import('@tensorflow/tfjs');
type TensorInfo = import('@tensorflow/tfjs').TensorInfo;
type KernelConfig = import('@tensorflow/tfjs').KernelConfig;
type KernelArgs = Parameters<KernelConfig['kernelFunc']>[0];

/** What these kernels use of the wasm backend: outputs in its heap, and views of them. */
interface WasmBackend {
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  disposeData(dataId: object): void;
}

const TILE = 32;
const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** `x` with its last two axes swapped (float32), tile by tile. */
function swapLastAxes(backend: WasmBackend, x: TensorInfo): TensorInfo {
  const r = x.shape.length, rows = x.shape[r - 2], cols = x.shape[r - 1];
  const out = backend.makeOutput([...x.shape.slice(0, -2), cols, rows], 'float32');
  // Views after makeOutput: allocating may grow the heap, which detaches earlier views.
  const src = backend.typedArrayFromHeap(x), dst = backend.typedArrayFromHeap(out);
  for (let base = 0; base < src.length; base += rows * cols) {
    for (let i0 = 0; i0 < rows; i0 += TILE) {
      const i1 = Math.min(rows, i0 + TILE);
      for (let j0 = 0; j0 < cols; j0 += TILE) {
        const j1 = Math.min(cols, j0 + TILE);
        for (let i = i0; i < i1; i++) {
          const from = base + i * cols;
          for (let j = j0; j < j1; j++) dst[base + j * rows + i] = src[from + j];
        }
      }
    }
  }
  return out;
}

/** Replaces kernel `name` on `backend` by `replace`, which may hand a call back to the original. */
export function override(tf: Tf, name: string, backend: string, replace: (args: KernelArgs, original: KernelConfig['kernelFunc']) => ReturnType<KernelConfig['kernelFunc']>): void {
  const kernel = tf.getKernel(name, backend);
  if (!kernel) return;
  tf.unregisterKernel(name, backend);
  tf.registerKernel({ ...kernel, kernelFunc: (args) => replace(args, kernel.kernelFunc) });
}

export function fasterTrainingKernels(tf: Tf, backendName: string): void {
  override(tf, 'Transpose', backendName, (args, original) => {
    const { inputs: { x }, backend, attrs } = args as unknown as { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: { perm: number[] } };
    const r = x.shape.length;
    const swapsLast = r >= 2 && attrs.perm.every((p, i) => p === (i < r - 2 ? i : 2 * r - 3 - i));
    return swapsLast && x.dtype === 'float32' ? swapLastAxes(backend, x) : original(args);
  });
  for (const name of ['BatchMatMul', '_FusedMatMul']) {
    override(tf, name, backendName, (args, original) => {
      const { inputs, backend, attrs } = args as unknown as { inputs: Record<string, TensorInfo>; backend: WasmBackend; attrs: { transposeA?: boolean; transposeB?: boolean } };
      if (!attrs.transposeA && !attrs.transposeB) return original(args);
      const copies: TensorInfo[] = [];
      const swapped = (t: TensorInfo): TensorInfo => { const y = swapLastAxes(backend, t); copies.push(y); return y; };
      try {
        const a = attrs.transposeA ? swapped(inputs.a) : inputs.a, b = attrs.transposeB ? swapped(inputs.b) : inputs.b;
        return original({ ...args, inputs: { ...inputs, a, b }, attrs: { ...attrs, transposeA: false, transposeB: false } } as unknown as KernelArgs);
      } finally {
        for (const c of copies) backend.disposeData(c.dataId);
      }
    });
  }
  const matMul = tf.getKernel('BatchMatMul', backendName)?.kernelFunc;
  override(tf, 'Sum', backendName, (args, original) => {
    const { inputs: { x }, backend, attrs } = args as unknown as { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: { axis: number | number[]; keepDims: boolean } };
    const r = x.shape.length;
    const axes = [attrs.axis].flat().map((a) => (a < 0 ? a + r : a)).sort((a, b) => a - b);
    // Only the leading axes, and not all of them (that is one sum, which the backend does well).
    if (!matMul || x.dtype !== 'float32' || !axes.length || axes.length >= r || axes.some((a, i) => a !== i)) return original(args);
    const kept = x.shape.slice(axes.length), width = size(kept), rows = size(x.shape) / width;
    // A row of ones times x, on XNNPACK: 46 µs for 256 rows of 1 024, where adding them in JavaScript took 700.
    const ones = backend.makeOutput([1, 1, rows], 'float32');
    backend.typedArrayFromHeap(ones).fill(1);
    try {
      const sum = matMul({ inputs: { a: ones, b: { ...x, shape: [1, rows, width] } }, backend, attrs: { transposeA: false, transposeB: false } } as unknown as KernelArgs) as TensorInfo;
      return { ...sum, shape: attrs.keepDims ? [...axes.map(() => 1), ...kept] : kept };
    } finally {
      backend.disposeData(ones.dataId);
    }
  });
}
