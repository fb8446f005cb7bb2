// TF.js models: a model.json with a weightsManifest, either a layers model (Keras topology,
// rebuilt and run in TF.js in memory) or a graph model (a GraphDef, run as written).
import { tfjsRunner } from '../../runners/tfjs.js';
import { layersSource, type LayersSource } from '../../runners/layersSource.js';
import { writtenRunner } from '../../runners/written.js';
import type { FormatModule, Runtime } from '../format.js';
import type { OutputOverhead } from '../../types.js';
import { writeTfjsGraph } from './graphWriter.js';
import { tfjsGraphInputMoments } from './graphMoments.js';
import { loadTfjsGraph } from './graphRuntime.js';
import { writeTfjsLayers } from './layersWriter.js';
import { readTfjs, tfjsKind, type TfjsModel } from './read.js';
import { loadTfjsLayers, loadTfjsLayersModel } from './runtime.js';

/** The TF.js layers source of an open layers model: what the TF.js runner runs. */
export function tfjsLayersSource(model: TfjsModel): LayersSource {
  return layersSource(model.path, model.extra.modelTopology as Record<string, unknown>, () => loadTfjsLayersModel(model.path));
}

/**
 * The output's model.json: the writer re-serialises the model's JSON compactly (files.ts), and
 * its weight file holds tensor values only. Each factorised layer adds one layer (or node) and
 * one weight entry to it: `perLayer`, measured on the writers' outputs (digits, Fashion-MNIST
 * MLP and CNN: 369–371 bytes a Dense or Conv2D layer; the graph MLP: 408–410 bytes a MatMul node).
 */
function jsonOverhead(model: TfjsModel, perLayer: number): OutputOverhead {
  return { base: new TextEncoder().encode(JSON.stringify(model.extra)).length, perLayer };
}

export const tfjsLayers: FormatModule<TfjsModel> = {
  id: 'tfjs-layers',
  title: 'TF.js layers',
  extensions: ['.json'],
  sniff: async (path) => (await tfjsKind(path)) === 'layers',
  read: readTfjs,
  write: writeTfjsLayers,
  outputOverhead: (model) => jsonOverhead(model, 370),
  runtime: { load: loadTfjsLayers },
  runner: (model) => tfjsRunner(model, tfjsLayersSource(model)),
  capabilities: { compress: true, evaluate: true, whiten: true, sensitivity: true, refine: true, finetune: true, relayout: false },
};

const graphRuntime: Runtime = { load: (path) => loadTfjsGraph(path) };
/** The layer kinds whose inputs a GraphModel lets us observe (graphMoments.ts). */
const OBSERVED = ['matmul', 'conv2d'];

export const tfjsGraph: FormatModule<TfjsModel> = {
  id: 'tfjs-graph',
  title: 'TF.js graph',
  extensions: ['.json'],
  sniff: async (path) => (await tfjsKind(path)) === 'graph',
  read: readTfjs,
  write: writeTfjsGraph,
  outputOverhead: (model) => jsonOverhead(model, 410),
  runtime: graphRuntime,
  runsWritten: true,
  runner: (model, site) => writtenRunner(model, { write: writeTfjsGraph, runtime: graphRuntime }, site, {
    inputMoments: (m, x, opts) => tfjsGraphInputMoments(m, m.layers.filter((l) => OBSERVED.includes(l.kind) && l.factorisable), x, opts),
  }),
  capabilities: { compress: true, evaluate: true, whiten: true, sensitivity: true, refine: true, finetune: false, relayout: false },
};
