// The folder opened in VS Code: the bundled Fashion-MNIST TF.js model (or, before it is
// trained, a small TF.js model made by the fixture script) plus a safetensors checkpoint.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { lowRankMlp } from '../fixtures/tfjsModels.js';
import { PYTHON } from '../helpers/python.js';

const root = resolve(import.meta.dirname, '../..');
const example = join(root, 'examples/fashion-mnist');

export interface FixtureWorkspace {
  dir: string;
  /** Workspace-relative paths of the model files VS Code should list. */
  models: string[];
  /** The TF.js topology file and the name of its first Dense layer, for the hover scenario. */
  tfjsModel: string;
  denseLayer: string;
  /** Every Dense layer of the TF.js model, in file order: what its tradeoff panel must list. */
  denseLayers: string[];
  /**
   * The example's labelled test set, workspace-relative as `reducible.evaluation.inputs` /
   * `.labels` name it in the workspace settings; absent with the generated stand-in model.
   */
  evaluation?: { inputs: string; labels: string };
}

export async function makeFixtureWorkspace(dir: string, scratch: string): Promise<FixtureWorkspace> {
  const tfjsDir = join(dir, 'fashion-mnist');
  mkdirSync(tfjsDir, { recursive: true });
  let evaluation: FixtureWorkspace['evaluation'];
  if (existsSync(join(example, 'model.json')) && existsSync(join(example, 'weights.bin'))) {
    for (const f of ['model.json', 'weights.bin', 'test.npz', 'calib.npz']) copyFileSync(join(example, f), join(tfjsDir, f));
    evaluation = { inputs: 'fashion-mnist/test.npz:x', labels: 'fashion-mnist/test.npz:y' };
    mkdirSync(join(dir, '.vscode'));
    writeFileSync(join(dir, '.vscode/settings.json'), JSON.stringify({
      'reducible.evaluation.inputs': evaluation.inputs, 'reducible.evaluation.labels': evaluation.labels,
      // The panel's whitened method learns from the example's unlabeled training images.
      'reducible.calibration.inputs': 'fashion-mnist/calib.npz:x',
    }, null, 2));
  } else {
    console.log(`e2e: ${example} has no trained model yet; using a generated TF.js MLP instead`);
    await lowRankMlp(tfjsDir, 4);
  }
  const r = spawnSync(PYTHON, [join(root, 'test/fixtures/make_safetensors.py'), scratch], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make_safetensors.py failed: ${r.stderr}`);
  copyFileSync(join(scratch, 'mlp-float32.safetensors'), join(dir, 'mlp.safetensors'));
  const layers = denseLayers(join(tfjsDir, 'model.json'));
  return {
    dir,
    models: ['fashion-mnist/model.json', 'mlp.safetensors'],
    tfjsModel: 'fashion-mnist/model.json',
    denseLayer: layers[0],
    denseLayers: layers,
    evaluation,
  };
}

function denseLayers(modelJson: string): string[] {
  const m = JSON.parse(readFileSync(modelJson, 'utf8')) as { modelTopology: { config: { layers: { class_name: string; config: { name: string } }[] } } };
  const dense = m.modelTopology.config.layers.filter((l) => l.class_name === 'Dense').map((l) => l.config.name);
  if (dense.length === 0) throw new Error(`${modelJson} has no Dense layer`);
  return dense;
}
