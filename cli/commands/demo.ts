// `npm run demo`: the main job on the bundled example.
import { fileURLToPath } from 'node:url';
import { analyze } from './analyze.js';
import type { Command } from './command.js';

export const EXAMPLE_MODEL = fileURLToPath(new URL('../examples/fashion-mnist/model.json', import.meta.url));

export const demo: Command = {
  usage: 'reducible demo',
  async run() {
    console.log(`Analysing the bundled Fashion-MNIST model (${EXAMPLE_MODEL})\n`);
    return analyze.run([EXAMPLE_MODEL]);
  },
};
