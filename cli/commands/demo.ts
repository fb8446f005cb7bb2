// `npm run demo`: the main job on the bundled example — analyse, compress to 34 % of the
// parameters, evaluate both models on the 10 000 Fashion-MNIST test images.
import { fileURLToPath } from 'node:url';
import { analyze } from './analyze.js';
import type { Command } from './command.js';
import { compress } from './compress.js';
import { evaluateCommand } from './evaluate.js';

const EXAMPLE_DIR = fileURLToPath(new URL('../examples/fashion-mnist/', import.meta.url));
export const EXAMPLE_MODEL = `${EXAMPLE_DIR}model.json`;

export const demo: Command = {
  usage: 'reducible demo [--ratio R]',
  async run(argv) {
    const ratio = argv[0] === '--ratio' && argv[1] ? argv[1] : '0.34';
    const out = `${EXAMPLE_DIR}model.reduced.json`;
    const test = `${EXAMPLE_DIR}test.npz`;
    console.log(`== 1. analyse the bundled Fashion-MNIST model (${EXAMPLE_MODEL})\n`);
    await analyze.run([EXAMPLE_MODEL]);
    console.log(`\n== 2. compress to ${Number(ratio) * 100} % of its parameters (plain truncated SVD, optimal rank allocation)\n`);
    await compress.run([EXAMPLE_MODEL, '--ratio', ratio, '-o', out, '--force']);
    console.log('\n== 3. evaluate both in stock @tensorflow/tfjs on the 10 000 test images\n');
    return evaluateCommand.run([EXAMPLE_MODEL, out, '--inputs', `${test}:x`, '--labels', `${test}:y`]);
  },
};
