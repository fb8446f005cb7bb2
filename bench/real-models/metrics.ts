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

/**
 * DB's post-processing on axis-aligned text: every 4-connected region of `mask` becomes its
 * bounding box [x0, y0, x1, y1) if the mean probability inside reaches `boxThreshold` (PaddleOCR's
 * box_thresh 0.6, score mode "fast") and both sides reach 3 px, grown on every side by
 * D = A·1.5/L (unclip_ratio 1.5) to undo the shrink the model was trained with.
 */
export function dbBoxes(mask: Uint8Array, probs: Float32Array, offset: number, size: number, boxThreshold = 0.6): number[][] {
  const seen = new Uint8Array(mask.length), stack: number[] = [], boxes: number[][] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    let x0 = size, y0 = size, x1 = 0, y1 = 0;
    seen[start] = 1;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop()!, x = p % size, y = (p - x) / size;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x + 1); y0 = Math.min(y0, y); y1 = Math.max(y1, y + 1);
      for (const q of [x > 0 ? p - 1 : -1, x < size - 1 ? p + 1 : -1, y > 0 ? p - size : -1, y < size - 1 ? p + size : -1]) {
        if (q >= 0 && mask[q] && !seen[q]) { seen[q] = 1; stack.push(q); }
      }
    }
    if (x1 - x0 < 3 || y1 - y0 < 3) continue;
    let sum = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) sum += probs[offset + y * size + x];
    if (sum / ((x1 - x0) * (y1 - y0)) < boxThreshold) continue;
    const w = x1 - x0, h = y1 - y0, d = (w * h * 1.5) / (2 * (w + h));
    boxes.push([Math.max(0, x0 - d), Math.max(0, y0 - d), Math.min(size, x1 + d), Math.min(size, y1 + d)]);
  }
  return boxes;
}

const boxIou = (a: number[], b: number[]): number => {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])), ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih, area = (r: number[]): number => (r[2] - r[0]) * (r[3] - r[1]);
  return inter / (area(a) + area(b) - inter);
};

/** Detections matched one-to-one to ground-truth boxes at IoU ≥ 0.5 (PaddleOCR's DetMetric rule), greedily by IoU. */
export function matchBoxes(found: number[][], truth: number[][]): number {
  const pairs = found.flatMap((f, i) => truth.map((t, j) => [boxIou(f, t), i, j])).filter(([v]) => v >= 0.5).sort((a, b) => b[0] - a[0]);
  const usedF = new Set<number>(), usedT = new Set<number>();
  for (const [, i, j] of pairs) if (!usedF.has(i) && !usedT.has(j)) { usedF.add(i); usedT.add(j); }
  return usedF.size;
}
