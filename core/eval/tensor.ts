/** A dense float tensor crossing runtime boundaries. */
export interface Tensor { data: Float32Array; shape: number[] }

/** `run` on consecutive chunks of `batch` rows of `x` (the last may be shorter), outputs stacked by row. */
export async function mapChunks(x: Tensor, batch: number, run: (chunk: Tensor) => Promise<Tensor>): Promise<Tensor> {
  const n = x.shape[0], per = x.data.length / n;
  if (batch >= n) return run(x);
  const parts: Tensor[] = [];
  for (let i = 0; i < n; i += batch) {
    const end = Math.min(n, i + batch);
    parts.push(await run({ data: x.data.subarray(i * per, end * per), shape: [end - i, ...x.shape.slice(1)] }));
  }
  const data = new Float32Array(parts.reduce((s, p) => s + p.data.length, 0));
  let off = 0;
  for (const p of parts) { data.set(p.data, off); off += p.data.length; }
  return { data, shape: [n, ...parts[0].shape.slice(1)] };
}
