// Writes calib.npz: the first 5 000 Fashion-MNIST *training* images (uint8 [5000, 784], key
// `x`, no labels) — the unlabeled calibration set for `--method whitened` and `--finetune`,
// disjoint from the test images the demo evaluates on.
// Run: npx tsx examples/fashion-mnist/make-calibration.ts  (needs Debian dataset-fashion-mnist)
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { encodeNpz } from '../../core/io/npy.js';

const N = 5000;
const images = gunzipSync(readFileSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz')).subarray(16, 16 + N * 784);
writeFileSync(fileURLToPath(new URL('calib.npz', import.meta.url)), encodeNpz({ x: { dtype: 'uint8', shape: [N, 784], data: images.slice() } }));
