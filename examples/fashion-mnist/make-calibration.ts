// Writes unlabeled calibration inputs from the Fashion-MNIST *training* images (uint8
// [N, 784], key `x`, no labels), disjoint from the test images the demo evaluates on:
//   calib.npz      the first 5 000 images, committed, so the demo and tests run anywhere;
//   train60k.npz   all 60 000 (git-ignored, ~30 MB): distillation (`--finetune`) keeps
//                  improving with more unlabeled data, so bench/quality uses it when it can.
// Run: npx tsx examples/fashion-mnist/make-calibration.ts [N] [file]   (needs Debian dataset-fashion-mnist)
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { encodeNpz } from '../../core/io/npy.js';

export const TRAIN_IMAGES = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';

export function writeCalibration(n: number, file: string): void {
  const images = gunzipSync(readFileSync(TRAIN_IMAGES)).subarray(16, 16 + n * 784);
  writeFileSync(file, encodeNpz({ x: { dtype: 'uint8', shape: [n, 784], data: images.slice() } }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2] ?? 5000);
  writeCalibration(n, process.argv[3] ?? fileURLToPath(new URL('calib.npz', import.meta.url)));
}
