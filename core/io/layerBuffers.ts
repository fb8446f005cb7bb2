// Shared buffers that layers are read into on their way to an engine, reused layer after
// layer. A fresh buffer per layer, moved to a worker thread, lingers there as garbage (those
// threads allocate little else, so they seldom collect) and, once freed, as heap the C
// allocator keeps: resident memory grew by ~100 MiB over 7 layers of 2048². Shared memory
// reaches a worker without a copy and without being detached, so one buffer serves every layer.

/** Free buffers are dropped this long after the last layer is done with its buffer. */
const IDLE_RELEASE_MS = 1000;

const free: SharedArrayBuffer[] = [];
let holders = 0;
let idle: ReturnType<typeof setTimeout> | undefined;

/**
 * Runs `fn` with `elements` floats on a reused shared buffer (contents undefined), which is
 * valid only until `fn` settles: nothing may keep it, or a view of it, after that.
 */
export async function withLayerBuffer<T>(elements: number, fn: (buffer: Float32Array) => Promise<T>): Promise<T> {
  clearTimeout(idle);
  holders++;
  // The smallest free buffer that fits; else the largest free one is too small, and goes.
  free.sort((a, b) => a.byteLength - b.byteLength);
  const fits = free.findIndex((b) => b.byteLength >= 4 * elements);
  if (fits < 0) free.pop();
  const sab = fits >= 0 ? free.splice(fits, 1)[0] : new SharedArrayBuffer(4 * elements);
  try {
    return await fn(new Float32Array(sab, 0, elements));
  } finally {
    free.push(sab);
    if (--holders === 0) idle = setTimeout(() => { free.length = 0; }, IDLE_RELEASE_MS).unref();
  }
}
