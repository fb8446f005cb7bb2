// Shared buffers that layers are read into on their way to an engine, reused layer after
// layer. A fresh buffer per layer, moved to a worker thread, lingers there as garbage (those
// threads allocate little else, so they seldom collect) and, once freed, as heap the C
// allocator keeps. Shared memory reaches a worker without a copy and without being detached,
// so one buffer serves every layer.

/** Free buffers are dropped this long after the last layer is done with its buffer. */
const IDLE_RELEASE_MS = 1000;

const free: SharedArrayBuffer[] = [];
let holders = 0;
let idle: ReturnType<typeof setTimeout> | undefined;

/** Gives `elements` floats (contents undefined); called at most once per withLayerBuffer. */
export type TakeBuffer = (elements: number) => Float32Array;

/**
 * Runs `fn` with `take`, which hands out a reused shared buffer when called — only then, so
 * a reader can check a tensor before memory is reserved for it. The buffer is valid until
 * `fn` settles: nothing may keep it, or a view of it, after that.
 */
export async function withLayerBuffer<T>(fn: (take: TakeBuffer) => Promise<T>): Promise<T> {
  clearTimeout(idle);
  holders++;
  let sab: SharedArrayBuffer | undefined;
  const take: TakeBuffer = (elements) => {
    if (sab) throw new Error('withLayerBuffer: one buffer per call');
    // The smallest free buffer that fits; else the largest free one is too small, and goes.
    free.sort((a, b) => a.byteLength - b.byteLength);
    const fits = free.findIndex((b) => b.byteLength >= 4 * elements);
    if (fits < 0) free.pop();
    sab = fits >= 0 ? free.splice(fits, 1)[0] : new SharedArrayBuffer(4 * elements);
    return new Float32Array(sab, 0, elements);
  };
  try {
    return await fn(take);
  } finally {
    if (sab) free.push(sab);
    if (--holders === 0) idle = setTimeout(() => { free.length = 0; }, IDLE_RELEASE_MS).unref();
  }
}

/**
 * Runs `fn` with `elements` floats of a reused shared buffer: writers read factors back into
 * the buffer the layers were read into, free again once every layer is factorised.
 */
export function withReusedBuffer<T>(elements: number, fn: (buffer: Float32Array) => Promise<T>): Promise<T> {
  return withLayerBuffer((take) => fn(elements > 0 ? take(elements) : new Float32Array(0)));
}
