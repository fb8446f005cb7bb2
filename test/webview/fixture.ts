// A 200-layer Analysis with seeded, decaying spectra: what the panel receives from the server.
import { layerAnalysis, type Analysis } from '../../core/analysis.js';
import type { Layer, LayerKind } from '../../core/types.js';
import { rng } from '../helpers/random.js';
import { formatModule } from '../../core/formats/registry.js';

const SIZES = [64, 96, 128, 192, 256, 384];
/** Parameters outside every layer's weight (biases, norms), always kept. */
export const UNLAYERED = 12_345;

export function analysisFixture(count = 200, seed = 7): Analysis {
  const rand = rng(seed);
  const layers = Array.from({ length: count }, (_, i) => {
    const rows = SIZES[Math.floor(rand() * SIZES.length)], cols = SIZES[Math.floor(rand() * SIZES.length)];
    // Every 25th layer is one we report but never factorise (e.g. a depthwise conv).
    const factorisable = i % 25 !== 24;
    const kind: LayerKind = factorisable ? (i % 3 === 0 ? 'conv2d' : 'dense') : 'depthwise';
    const layer: Layer = {
      name: `block${Math.floor(i / 4)}/${kind}_${i}`, kind, shape: [rows, cols], matrix: { rows, cols },
      params: rows * cols, dtype: 'float32', weight: `w${i}`, factorisable,
    };
    // Decay rates from fast (very compressible) to slow (not worth factorising).
    const tau = 2 + rand() * 60;
    const sigma = Array.from({ length: Math.min(rows, cols) }, (_, k) => Math.exp(-k / tau) * (1 + 0.1 * rand()))
      .sort((a, b) => b - a);
    return layerAnalysis(layer, sigma, 0.99);
  });
  const layerParams = layers.reduce((s, l) => s + l.params, 0);
  return { format: 'onnx', path: '/models/fixture.onnx', fileBytes: (layerParams + UNLAYERED) * 4 + 4096,
    totalParams: layerParams + UNLAYERED, capabilities: formatModule('onnx').capabilities, energy: 0.99, layers };
}

