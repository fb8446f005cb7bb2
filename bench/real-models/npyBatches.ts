// Reads a float32 .npy in batches along its first axis. The det test set is ~490 MB of
// float32; core's readArray holds a whole array (twice, while it copies), which the bench
// would pay for every model it evaluates, on a machine shared with other work.
import { closeSync, openSync, readSync } from 'node:fs';
import type { Tensor } from '../../core/eval/tensor.js';

export function* npyBatches(file: string, batch: number): Generator<Tensor> {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4096);
    readSync(fd, head, 0, head.length, 0);
    const v2 = head[6] >= 2;
    const start = (v2 ? 12 : 10) + (v2 ? head.readUInt32LE(8) : head.readUInt16LE(8));
    const header = head.subarray(0, start).toString('latin1');
    // make_data.py writes C-ordered little-endian float32 only; anything else is not its output.
    if (!header.includes("'descr': '<f4'") || header.includes("'fortran_order': True")) throw new Error(`${file}: not a C-ordered float32 .npy`);
    const shape = /'shape':\s*\(([^)]*)\)/.exec(header)![1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    for (let i = 0; i < shape[0]; i += batch) {
      const n = Math.min(batch, shape[0] - i);
      const data = new Float32Array(n * per);
      readSync(fd, new Uint8Array(data.buffer), 0, data.byteLength, start + i * per * 4);
      yield { data, shape: [n, ...shape.slice(1)] };
    }
  } finally {
    closeSync(fd);
  }
}
