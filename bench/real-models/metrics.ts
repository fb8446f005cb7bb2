// The task metrics of the three OCR models, as PaddleOCR's own evaluation defines them
// (CTC greedy decoding; DB's shrunk text regions), kept free of I/O so they can be checked alone.

/** Index of the largest of `n` values at `data[offset..]`. */
export function argmax(data: Float32Array, offset: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if (data[offset + j] > data[offset + best]) best = j;
  return best;
}

/** CTC greedy decoding: merge repeats, drop blanks (index 0); `chars[i]` spells class i (chars[0] unused). */
export function ctcDecode(steps: ArrayLike<number>, chars: readonly string[]): string {
  let out = '', prev = -1;
  for (let t = 0; t < steps.length; t++) {
    const c = steps[t];
    if (c !== prev && c !== 0) out += chars[c];
    prev = c;
  }
  return out;
}

/** Levenshtein distance, over UTF-16 code units (the test text is ASCII). */
export function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next.push(Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    row = next;
  }
  return row[b.length];
}

/** Pixel IoU of two masks over the same pixels (1 when both are empty). */
export function iou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0, union = 0;
  for (let i = 0; i < a.length; i++) {
    inter += a[i] & b[i];
    union += a[i] | b[i];
  }
  return union === 0 ? 1 : inter / union;
}

/**
 * The mask DB is trained to predict for axis-aligned text boxes: each box shrunk on every side by
 * D = A(1 − r²)/L with r = 0.4 (DB's shrink ratio; A area, L perimeter), as PaddleOCR's
 * MakeShrinkMap does with a polygon offset. Its unclip step grows detections back afterwards.
 */
export function shrunkBoxMask(boxes: readonly number[][], size: number, ratio = 0.4): Uint8Array {
  const mask = new Uint8Array(size * size);
  for (const [x0, y0, x1, y1] of boxes) {
    const w = x1 - x0, h = y1 - y0;
    const d = (w * h * (1 - ratio * ratio)) / (2 * (w + h));
    for (let y = Math.max(0, Math.round(y0 + d)); y < Math.min(size, Math.round(y1 - d)); y++) {
      mask.fill(1, y * size + Math.max(0, Math.round(x0 + d)), y * size + Math.min(size, Math.round(x1 - d)));
    }
  }
  return mask;
}

/** 1 where `probs` exceeds `threshold`. */
export function threshold(probs: Float32Array, offset: number, n: number, t: number): Uint8Array {
  const m = new Uint8Array(n);
  for (let i = 0; i < n; i++) m[i] = probs[offset + i] > t ? 1 : 0;
  return m;
}
