import { InputError } from '../types.js';

/** A dense float tensor crossing runtime boundaries. */
export interface Tensor { data: Float32Array; shape: number[] }

/**
 * The batch a model exported with a fixed batch size (often 1) is fed `n` inputs in, from the
 * size its loaded input declares; undefined for a dynamic batch. Inputs that do not fill whole
 * batches are refused.
 */
export function fixedBatch(path: string, declared: number | null | undefined, n: number): number | undefined {
  if (typeof declared !== 'number' || declared <= 0) return undefined;
  if (n % declared !== 0) throw new InputError(path, `model takes batches of ${declared}; ${n} inputs do not divide evenly`);
  return declared;
}

/** The first `n` rows of `x` (a view, not a copy). */
export function firstRows(x: Tensor, n: number): Tensor {
  return { data: x.data.subarray(0, n * (x.data.length / x.shape[0])), shape: [n, ...x.shape.slice(1)] };
}

/** `fn` on consecutive chunks of `batch` rows of `x` (the last may be shorter), in order. */
export async function forEachChunk(x: Tensor, batch: number, fn: (chunk: Tensor) => Promise<void>): Promise<void> {
  const n = x.shape[0], per = x.data.length / n;
  for (let i = 0; i < n; i += batch) {
    const end = Math.min(n, i + batch);
    await fn({ data: x.data.subarray(i * per, end * per), shape: [end - i, ...x.shape.slice(1)] });
  }
}

/** `run` on consecutive chunks of `batch` rows of `x` (the last may be shorter), each of its outputs stacked by row. */
export async function mapChunks(x: Tensor, batch: number, run: (chunk: Tensor) => Promise<Tensor[]>): Promise<Tensor[]> {
  const n = x.shape[0];
  if (batch >= n) return run(x);
  const parts: Tensor[][] = [];
  await forEachChunk(x, batch, async (chunk) => { parts.push(await run(chunk)); });
  return parts[0].map((first, o) => {
    const data = new Float32Array(parts.reduce((s, p) => s + p[o].data.length, 0));
    let off = 0;
    for (const p of parts) { data.set(p[o].data, off); off += p[o].data.length; }
    return { data, shape: [n, ...first.shape.slice(1)] };
  });
}
