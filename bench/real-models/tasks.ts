// The bench's models as subjects (PaddleOCR's three, openWakeWord's embedding model, Basic Pitch in pitchTask.ts): where each model and its data live, what one
// output means (a prediction per test input), the task metric against the labels, and the
// agreement of a compressed model's predictions with the original's.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OnnxSession } from '../../core/formats/onnx/runtime.js';
import type { Tensor } from '../../core/eval/tensor.js';
import { argmax, ctcDecode, dbBoxes, editDistance, iou, matchBoxes, shrunkBoxMask, threshold } from './metrics.js';
import { npyBatches } from './npyBatches.js';
import { pitch } from './pitchTask.js';
import { onnxRuntime, type RunAll } from './runtimes.js';

export const WORK = fileURLToPath(new URL('work/', import.meta.url));
const ASSETS = join(WORK, 'ocr-models/assets');
const DATA = join(WORK, 'data');

/** The task metric (a share, 0..1) and other figures worth a column. */
export interface Scores { metric: number; extra: Record<string, number> }

export interface Task<P> {
  id: string; title: string; model: string; calibration: string; test: string;
  /** What `metric` and agreement measure, for the tables. */
  metricName: string; agreementName: string;
  /** Test inputs per runtime call: as many as keep one call's tensors small. */
  batch: number;
  /** The stock runtime that runs the model (onnxruntime-node when absent). */
  runtime?: RunAll;
  /** One batch's predictions from the model's outputs (ONNX: in the session's order). */
  predict(outputs: Tensor[]): P[];
  /** Turns the per-input predictions into the per-example ones the metric counts (wake: windows into clips), once per model. */
  finish?(perInput: P[]): Promise<P[]>;
  score(predictions: P[]): Scores;
  agree(original: P[], compressed: P[]): number;
}

/** The first of `files` that is missing, as the one line a user needs, else undefined. */
export function missing(task: Task<unknown>): string | undefined {
  const need = [[task.model, 'bench/real-models/fetch.sh'], [task.calibration, 'bench/real-models/make_data.py'], [task.test, 'bench/real-models/make_data.py']];
  const gap = need.find(([f]) => !existsSync(f));
  return gap && `${task.id}: ${gap[0]} is missing (run ${gap[1]})`;
}

/** Every test input's prediction by the model at `path`, in the stock runtime. */
export async function predictAll<P>(task: Task<P>, path: string): Promise<P[]> {
  const out: P[] = [];
  await (task.runtime ?? onnxRuntime)(path, npyBatches(task.test, task.batch), (outputs) => out.push(...task.predict(outputs)));
  return task.finish ? await task.finish(out) : out;
}

const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').slice(0, -1);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const sameShare = (a: ArrayLike<number>[], b: ArrayLike<number>[]): number => {
  let same = 0, all = 0;
  a.forEach((x, i) => { for (let t = 0; t < x.length; t++, all++) same += x[t] === b[i][t] ? 1 : 0; });
  return same / all;
};

/** Per time step, the class the model ranks first. */
function stepArgmax(o: Tensor): Int32Array[] {
  const [n, steps, classes] = o.shape;
  return Array.from({ length: n }, (_, i) => Int32Array.from({ length: steps }, (_, t) => argmax(o.data, (i * steps + t) * classes, classes)));
}

const rec: Task<Int32Array> = {
  id: 'rec', title: 'PP-OCRv4 text-line recognition (ch_PP-OCRv4_rec_infer.onnx, CTC over 6 625 classes)',
  model: join(ASSETS, 'ch_PP-OCRv4_rec_infer.onnx'), calibration: join(DATA, 'rec/calib.npy'), test: join(DATA, 'rec/test.npy'),
  metricName: 'character accuracy', agreementName: 'top-1 agreement per time step', batch: 16,
  predict: ([o]) => stepArgmax(o),
  score(predictions) {
    // Class i ≥ 1 is line i of the key file; the last class is the space PaddleOCR appends.
    const keys = readFileSync(join(ASSETS, 'ppocr_keys_v1.txt'), 'utf8').split('\n');
    const chars = ['', ...keys, ' '];
    const truth = lines(join(DATA, 'rec/test.txt'));
    let errors = 0, total = 0, exact = 0;
    predictions.forEach((p, i) => {
      const text = ctcDecode(p, chars).trim();
      errors += editDistance(text, truth[i]);
      total += truth[i].length;
      exact += text === truth[i] ? 1 : 0;
    });
    return { metric: 1 - errors / total, extra: { lineAccuracy: exact / truth.length } };
  },
  agree: sameShare,
};

const cls: Task<number> = {
  id: 'cls', title: 'PP-OCR mobile v2.0 text orientation, 0° or 180° (ch_ppocr_mobile_v2.0_cls_infer.onnx)',
  model: join(ASSETS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), calibration: join(DATA, 'cls/calib.npy'), test: join(DATA, 'cls/test.npy'),
  metricName: 'accuracy', agreementName: 'top-1 agreement', batch: 50,
  predict: ([o]) => Array.from({ length: o.shape[0] }, (_, i) => argmax(o.data, i * o.shape[1], o.shape[1])),
  score(predictions) {
    const truth = lines(join(DATA, 'cls/test.txt')).map(Number);
    return { metric: mean(predictions.map((p, i) => (p === truth[i] ? 1 : 0))), extra: {} };
  },
  agree: (a, b) => mean(a.map((x, i) => (x === b[i] ? 1 : 0))),
};

/** PaddleOCR's DB post-processing binarises the probability map at 0.3. */
const DB_THRESHOLD = 0.3;

/** A page's binarised map and the text boxes DB's post-processing finds in it. */
interface Detection { mask: Uint8Array; boxes: number[][] }

const det: Task<Detection> = {
  id: 'det', title: 'PP-OCRv4 text detection, DB (ch_PP-OCRv4_det_infer.onnx), 640×640 pages',
  model: join(ASSETS, 'ch_PP-OCRv4_det_infer.onnx'), calibration: join(DATA, 'det/calib.npy'), test: join(DATA, 'det/test.npy'),
  metricName: 'line detection F-score (hmean)', agreementName: 'pixel IoU of the binarised map with the original\'s', batch: 2,
  predict([o]) {
    const size = o.shape[3], per = o.shape[2] * size;
    return Array.from({ length: o.shape[0] }, (_, i) => {
      const mask = threshold(o.data, i * per, per, DB_THRESHOLD);
      return { mask, boxes: dbBoxes(mask, o.data, i * per, size) };
    });
  },
  score(predictions) {
    const { size, boxes } = JSON.parse(readFileSync(join(DATA, 'det/test.json'), 'utf8')) as { size: number; boxes: number[][][] };
    const matched = predictions.reduce((s, p, i) => s + matchBoxes(p.boxes, boxes[i]), 0);
    const found = predictions.reduce((s, p) => s + p.boxes.length, 0), truth = boxes.reduce((s, b) => s + b.length, 0);
    const precision = matched / found, recall = matched / truth;
    return {
      metric: (2 * precision * recall) / (precision + recall),
      extra: {
        precision, recall,
        // The map against DB's training target (boxes shrunk): a thinner map can score higher here, so it is not the task metric.
        pixelIou: mean(predictions.map((p, i) => iou(p.mask, shrunkBoxMask(boxes[i], size)))),
      },
    };
  },
  agree: (a, b) => mean(a.map((x, i) => iou(x.mask, b[i].mask))),
};

const WAKE_MODELS = join(WORK, 'openwakeword/models');
/** openWakeWord's heads fire above 0.5; they read 16 consecutive embeddings (1.28 s of speech). */
const WAKE_THRESHOLD = 0.5, HEAD_WINDOW = 16;

/** Each test clip's label: the head that should fire on it, or none. */
const wakeLabels = (): string[] => lines(join(DATA, 'wake/test.txt'));
const wakeHeads = (labels: string[]): string[] => [...new Set(labels)].filter((l) => l !== 'none').sort();

/** Per clip: the wake word heard (index into the heads), or -1. */
function heard(p: Float32Array[]): number[] {
  return p.map((scores) => {
    const best = argmax(scores, 0, scores.length);
    return scores[best] > WAKE_THRESHOLD ? best : -1;
  });
}

const wake: Task<Float32Array> = {
  id: 'wake', title: 'openWakeWord speech embedding model (embedding_model.onnx) under its wake-word heads, espeak-ng speech',
  model: join(WAKE_MODELS, 'embedding_model.onnx'), calibration: join(DATA, 'wake/calib.npy'), test: join(DATA, 'wake/test.npy'),
  metricName: 'wake-word accuracy', agreementName: 'share of clips heard as the original hears them', batch: 280,
  predict: ([o]) => Array.from({ length: o.shape[0] }, (_, i) => o.data.slice(i * 96, (i + 1) * 96)),
  /** Each clip's windows' embeddings through every (uncompressed) wake-word head, sliding; a clip keeps each head's highest score. */
  async finish(embeddings) {
    const labels = wakeLabels(), perClip = embeddings.length / labels.length;
    const heads = await Promise.all(wakeHeads(labels).map((h) => OnnxSession.open(join(WAKE_MODELS, `${h}.onnx`))));
    try {
      const clips: Float32Array[] = [];
      for (let c = 0; c < labels.length; c++) {
        const best = new Float32Array(heads.length);
        for (let w = 0; w + HEAD_WINDOW <= perClip; w++) {
          const x = new Float32Array(HEAD_WINDOW * 96);
          for (let k = 0; k < HEAD_WINDOW; k++) x.set(embeddings[c * perClip + w + k], k * 96);
          for (const [h, s] of heads.entries()) best[h] = Math.max(best[h], [...(await s.run({ data: x, shape: [1, HEAD_WINDOW, 96] })).values()][0].data[0]);
        }
        clips.push(best);
      }
      return clips;
    } finally {
      await Promise.all(heads.map((s) => s.release()));
    }
  },
  score(predictions) {
    const labels = wakeLabels(), heads = wakeHeads(labels);
    const truth = labels.map((l) => heads.indexOf(l)), got = heard(predictions);
    const share = (keep: (t: number) => boolean, hit: (g: number, t: number) => boolean): number => {
      const idx = truth.map((t, i) => (keep(t) ? i : -1)).filter((i) => i >= 0);
      return mean(idx.map((i) => (hit(got[i], truth[i]) ? 1 : 0)));
    };
    return {
      metric: mean(got.map((g, i) => (g === truth[i] ? 1 : 0))),
      extra: { wakeRecall: share((t) => t >= 0, (g, t) => g === t), falseWakes: share((t) => t < 0, (g) => g >= 0) },
    };
  },
  agree(a, b) {
    const x = heard(a), y = heard(b);
    return mean(x.map((v, i) => (v === y[i] ? 1 : 0)));
  },
};

export const TASKS = [rec, cls, det, wake, pitch] as Task<unknown>[];
