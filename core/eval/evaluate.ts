// Compares an original and a compressed model on the same inputs in their stock runtime.
import { openModel } from '../formats/open.js';
import { readArray, toFloat32 } from '../io/npy.js';
import { transpose } from '../io/decode.js';
import { InputError, type Model, type ModelFormat } from '../types.js';
import { argmax, outputFidelity } from '../compress/fidelity.js';
import type { Tensor } from './tensor.js';
import { formatModule } from '../formats/registry.js';
import { capabilitiesOf, type LoadedModel } from '../formats/format.js';
import { evaluateWithModule } from './torchEvaluate.js';

/** `perplexity`: a language model's on held-out token ids (run by its module: torchEvaluate.ts). */
export interface ModelSide { path: string; format: ModelFormat; params: number; bytes: number; accuracy?: number; perplexity?: number }

export interface EvalReport {
  original: ModelSide;
  compressed: ModelSide;
  samples: number;
  inputsFrom: 'file' | 'random';
  /** Share of samples whose arg-max output agrees. */
  top1Agreement?: number;
  /** ‖y − y'‖ / ‖y‖ over all outputs. */
  relativeOutputError?: number;
  /** Weight-only formats: per-layer ‖W − W'‖/‖W‖ of the reconstructed matrices. */
  layers?: { name: string; relativeError: number }[];
}

/** `torchModel`: the module that runs PyTorch and safetensors checkpoints (`file.py:factory`), by `python` (which also builds a Hugging Face folder's). */
export interface EvalOptions { inputs?: string; labels?: string; samples?: number; seed?: number; torchModel?: string; python?: string }

export async function evaluate(originalPath: string, compressedPath: string, o: EvalOptions = {}): Promise<EvalReport> {
  const a = await openModel(originalPath);
  // The original stays open only if the second opens too: a refused file must not leak the first.
  const b = await openModel(compressedPath).catch(async (e: unknown) => { await a.close(); throw e; });
  try {
    const format = formatModule(a.format);
    // Without a stock runtime, outputs are compared by running the PyTorch module: a named --torch-model
    // (which needs --inputs), or a Hugging Face folder's own where inputs are given (without, its weights are compared).
    const byModule = !format.runtime && capabilitiesOf(format, o.torchModel !== undefined).evaluate && (o.torchModel !== undefined || o.inputs !== undefined);
    if (byModule) return await evaluateWithModule(a, b, o);
    const side = (m: Model): ModelSide => ({ path: m.path, format: m.format, params: m.totalParams, bytes: m.fileBytes });
    const report: EvalReport = { original: side(a), compressed: side(b), samples: 0, inputsFrom: o.inputs ? 'file' : 'random' };
    const runtime = format.runtime;
    if (!runtime || formatModule(b.format).runtime !== runtime) {
      if (o.inputs) throw new InputError(originalPath, `no runtime to run ${a.format} models; evaluate compares weights only (drop --inputs)`);
      report.layers = await compareWeights(a, b);
      return report;
    }
    const ya = await runLoaded(await runtime.load(a.path), async (m) => {
      const x = o.inputs ? await inputsFromFile(o.inputs) : randomInputs(m.inputShape, o.samples ?? 256, o.seed ?? 1);
      return { x, y: (await m.run(x))[0] };
    });
    const { x } = ya;
    // The first output, which labels score (the data-aware steps judge every output: fidelity.ts).
    const yb = (await runLoaded(await runtime.load(b.path), (m) => m.run(x)))[0];
    const n = x.shape[0];
    const width = ya.y.data.length / n;
    const fidelity = outputFidelity(ya.y, yb);
    report.samples = n;
    report.top1Agreement = fidelity.top1Agreement;
    report.relativeOutputError = fidelity.relativeOutputError;
    if (o.labels) {
      const y = toFloat32(await readArray(o.labels));
      if (y.length !== n) throw new InputError(o.labels, `has ${y.length} labels for ${n} inputs`);
      const acc = (out: Tensor): number => { let c = 0; for (let i = 0; i < n; i++) if (argmax(out.data, i, width) === y[i]) c++; return c / n; };
      report.original.accuracy = acc(ya.y);
      report.compressed.accuracy = acc(yb);
    }
    return report;
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function runLoaded<T>(model: LoadedModel, use: (m: LoadedModel) => Promise<T>): Promise<T> {
  try {
    return await use(model);
  } finally {
    await model.dispose();
  }
}

export async function inputsFromFile(spec: string): Promise<Tensor> {
  const arr = await readArray(spec);
  if (arr.shape.length < 1) throw new InputError(spec, 'inputs must have a leading sample dimension');
  return { data: toFloat32(arr), shape: arr.shape };
}

function randomInputs(shape: (number | null)[], samples: number, seed: number): Tensor {
  const dims = shape.slice(1).map((d) => d ?? 1);
  const full = [samples, ...dims];
  const data = new Float32Array(full.reduce((a, b) => a * b, 1));
  let s = seed >>> 0;
  for (let i = 0; i < data.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; data[i] = s / 2 ** 32 * 2 - 1; }
  return { data, shape: full };
}

/** A matrix view as rows×cols, transposing it where the view is cols×rows. */
function oriented(m: Float32Array, view: { rows: number; cols: number }, rows: number, cols: number): Float32Array {
  if (view.rows === rows && view.cols === cols) return m;
  if (view.rows === cols && view.cols === rows) return transpose(m, view.rows, view.cols);
  throw new Error(`factor of ${view.rows}×${view.cols} does not fit a ${rows}×${cols} product`);
}

/**
 * For weight-only formats: reconstruct each factorised layer from the compressed file's
 * factors (matched by the writers' naming) and compare with the original matrix.
 */
async function compareWeights(a: Model, b: Model): Promise<{ name: string; relativeError: number }[]> {
  const out: { name: string; relativeError: number }[] = [];
  const bNames = new Set(b.tensors.map((t) => t.name));
  for (const layer of a.layers) {
    if (bNames.has(layer.weight)) continue; // untouched
    const u = b.layers.find((l) => l.name === `${layer.name}.0` || l.name === `${layer.name}_u`);
    const v = b.layers.find((l) => l.name === `${layer.name}.1` || l.name === `${layer.name}_v`);
    if (!u || !v) continue;
    const w = await a.readMatrix(layer);
    const rows = layer.matrix.rows, cols = layer.matrix.cols;
    // The factors' own matrix views need not be rows×k and k×cols: a factorised embedding's
    // second factor is a Linear, read as k×cols, but its first an Embedding, read as vocab×k
    // only when the reader sees it as one. Each is taken in the orientation that chains (k < rows).
    const k = u.matrix.rows === rows ? u.matrix.cols : u.matrix.rows;
    const ma = oriented(await b.readMatrix(u), u.matrix, rows, k), mb = oriented(await b.readMatrix(v), v.matrix, k, cols);
    let num = 0, den = 0;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += ma[i * k + p] * mb[p * cols + j];
      const d = w[i * cols + j] - s;
      num += d * d; den += w[i * cols + j] ** 2;
    }
    out.push({ name: layer.name, relativeError: den > 0 ? Math.sqrt(num / den) : 0 });
  }
  return out;
}
