// The convolution gradients Reducible registers for tfjs-backend-wasm (core/formats/tfjs/
// convGradKernels.ts) against the cpu backend's own kernels, through tf.grads as fine-tuning
// takes them: strides, padding (valid, same, explicit), odd sizes, channel multipliers, a batch
// large enough to be cut into runs of images, and the depthwise and Conv2D input gradients both
// on the backend's own forward convolutions (stride 1) and elsewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tfjs } from '../../core/formats/tfjs/runtime.js';
import { mulberry32 } from '../../core/linalg/mulberry32.js';

type Tf = Awaited<ReturnType<typeof tfjs>>;
type T4 = import('@tensorflow/tfjs').Tensor4D;

const random = mulberry32(11);
const values = (n: number): Float32Array => Float32Array.from({ length: n }, () => random() * 2 - 1);

/** Gradients of Σ conv(x, f)·r with respect to x and f on `backend`. */
async function gradients(tf: Tf, backend: string, conv: (x: T4, f: T4) => T4, x: [Float32Array, number[]], f: [Float32Array, number[]], r: Float32Array): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const xt = tf.tensor4d(x[0], x[1] as [number, number, number, number]), ft = tf.tensor4d(f[0], f[1] as [number, number, number, number]);
    const loss = (a: T4, b: T4) => { const y = conv(a, b); return tf.sum(tf.mul(y, tf.tensor(r.subarray(0, y.size), y.shape))); };
    return tf.grads(loss as never)([xt, ft]).map((g) => g.dataSync() as Float32Array);
  });
}

function close(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, what);
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 * scale, `${what}: element ${i} ${got[i]} vs ${want[i]}`);
}

test('wasm has the convolution gradients fine-tuning needs, and they equal the cpu backend\'s', async () => {
  const tf = await tfjs();
  assert.equal(tf.getBackend(), 'wasm');
  const cases: { what: string; x: number[]; f: number[]; conv: (x: T4, f: T4) => T4 }[] = [
    { what: 'conv 3×3 same', x: [3, 9, 7, 5], f: [3, 3, 5, 6], conv: (x, f) => tf.conv2d(x, f, 1, 'same') },
    { what: 'conv 3×3 stride 2 valid', x: [2, 11, 10, 4], f: [3, 3, 4, 3], conv: (x, f) => tf.conv2d(x, f, 2, 'valid') },
    { what: 'conv 1×3 stride (2, 1) explicit pads', x: [2, 8, 9, 3], f: [1, 3, 3, 4], conv: (x, f) => tf.conv2d(x, f, [2, 1], [[0, 0], [1, 0], [2, 1], [0, 0]]) },
    { what: 'conv 1×1', x: [4, 5, 6, 7], f: [1, 1, 7, 3], conv: (x, f) => tf.conv2d(x, f, 1, 'valid') },
    // 20 images of 64×64 with 3×3×32 patches, 1.2 M values an image: two runs of images.
    { what: 'conv over two runs of images', x: [20, 64, 64, 32], f: [3, 3, 32, 2], conv: (x, f) => tf.conv2d(x, f, 1, 'same') },
    { what: 'depthwise 3×3 same', x: [2, 7, 8, 5], f: [3, 3, 5, 1], conv: (x, f) => tf.depthwiseConv2d(x, f, 1, 'same') },
    // Stride 1 and one filter per channel run on the backend's own depthwise convolution; the rest in loops.
    { what: 'depthwise 3×3 stride 2', x: [2, 9, 10, 6], f: [3, 3, 6, 1], conv: (x, f) => tf.depthwiseConv2d(x, f, 2, 'same') },
    { what: 'depthwise 5×5 stride 2, multiplier 2', x: [2, 12, 11, 3], f: [5, 5, 3, 2], conv: (x, f) => tf.depthwiseConv2d(x, f, 2, 'same') },
    { what: 'depthwise 3×3, multiplier 3', x: [2, 6, 7, 2], f: [3, 3, 2, 3], conv: (x, f) => tf.depthwiseConv2d(x, f, 1, 'valid') },
    // (TF.js has no gradient of dilated convolutions at all.)
    { what: 'depthwise 3×3 explicit pads', x: [1, 10, 9, 4], f: [3, 3, 4, 1], conv: (x, f) => tf.depthwiseConv2d(x, f, 1, [[0, 0], [2, 0], [1, 2], [0, 0]]) },
  ];
  try {
    for (const c of cases) {
      const x = values(c.x.reduce((a, b) => a * b, 1)), f = values(c.f.reduce((a, b) => a * b, 1)), r = values(c.x.reduce((a, b) => a * b, 1) * 4);
      const want = await gradients(tf, 'cpu', c.conv, [x, c.x], [f, c.f], r);
      const got = await gradients(tf, 'wasm', c.conv, [x, c.x], [f, c.f], r);
      close(got[0], want[0], `${c.what}: input gradient`);
      close(got[1], want[1], `${c.what}: filter gradient`);
    }
  } finally {
    await tf.setBackend('wasm');
  }
});
