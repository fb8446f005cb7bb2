// The DeepThin re-layout row of the quality bench (`--method relayout` writes ONNX only: TF.js
// layers models cannot express a re-laid-out product, see core/compress/relayout.ts). Ranks are allocated by the
// same optimal allocator as `--ratio`, on the spectra of the auxiliary p×q layouts; the
// approximated weights are written densely into a copy of the model so stock tfjs can measure
// its accuracy, and params kept counts what the factors would store, k·(p+q) per layer.
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { makePlan } from '../../core/compress/plan.js';
import { relayoutApproximation, relayoutShape } from '../../core/compress/relayout.js';
import { relayoutStrategy } from '../../core/compress/strategy.js';
import type { Engine } from '../../core/engines/engine.js';
import { loadTfjsLayersModel, tfjs } from '../../core/formats/tfjs/runtime.js';
import { openModel } from '../../core/formats/open.js';

export interface RelayoutResult { paramsKept: number; ranks: Record<string, number>; weightError: Record<string, number> }

export async function relayoutModel(path: string, ratio: number, engine: Engine, out: string): Promise<RelayoutResult> {
  const model = await openModel(path);
  const approx = new Map<string, Float32Array>();
  const ranks: Record<string, number> = {}, weightError: Record<string, number> = {};
  const total = model.totalParams;
  let params = total;
  try {
    const layers = model.layers.filter((l) => l.factorisable);
    const weights = new Map(await Promise.all(layers.map(async (l) => [l.name, await model.readMatrix(l)] as const)));
    // The same spectra and sizes `reducible compress --method relayout` plans on.
    const { analysis } = await relayoutStrategy(model, engine, {});
    const plan = await makePlan(analysis, { kind: 'ratio', ratio });
    for (const l of layers) {
      const { p, q } = relayoutShape(l.matrix.rows, l.matrix.cols);
      const k = plan.get(l.name)!;
      if (k >= Math.min(p, q)) continue;
      const r = await relayoutApproximation(weights.get(l.name)!, l.matrix.rows, l.matrix.cols, k, engine);
      approx.set(l.name, r.weight);
      ranks[l.name] = k;
      weightError[l.name] = r.relativeError;
      params += r.params - l.matrix.rows * l.matrix.cols;
    }
  } finally {
    await model.close();
  }
  const tf = await tfjs();
  const m = await loadTfjsLayersModel(path);
  try {
    for (const [name, w] of approx) {
      const layer = m.getLayer(name);
      const [kernel, ...rest] = layer.getWeights();
      layer.setWeights([tf.tensor(w, kernel.shape), ...rest]);
    }
    const bin = `${basename(out, '.json')}.bin`;
    await m.save(tf.io.withSaveHandler(async (a) => {
      writeFileSync(out.replace(/\.json$/, '.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      writeFileSync(out, JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: [bin], weights: a.weightSpecs }] }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
  } finally {
    m.dispose();
  }
  return { paramsKept: params / total, ranks, weightError };
}
