import { analyzeModel, DEFAULT_ENERGY } from '../../core/analysis.js';
import { createEngine, type EngineChoice } from '../../core/engines/select.js';
import { openModel } from '../../core/formats/open.js';
import { InputError } from '../../core/types.js';
import { numberFlag, parseArgs } from '../args.js';
import { formatAnalysis } from '../format.js';
import type { Command } from './command.js';

export const analyze: Command = {
  usage: 'reducible analyze  <model> [--json] [--energy E] [--engine auto|wasm|torch|tfjs-node] [--python PATH]',
  async run(argv) {
    const { flags, positional } = parseArgs(argv, { json: 'boolean', energy: 'string', engine: 'string', python: 'string' });
    if (positional.length !== 1) throw new InputError(undefined, `analyze needs exactly one model path`);
    const energy = numberFlag(flags, 'energy', 0, 1, true) ?? DEFAULT_ENERGY;
    // The model first: a mistyped path is refused without waiting for Python to import torch.
    const model = await openModel(positional[0]);
    const engine = await createEngine((flags.engine as EngineChoice) ?? 'auto', { python: flags.python as string | undefined })
      .catch(async (e: unknown) => { await model.close(); throw e; });
    try {
      const analysis = await analyzeModel(model, engine, energy);
      process.stdout.write(flags.json ? `${JSON.stringify(analysis)}\n` : `${formatAnalysis(analysis)}\n`);
    } finally {
      await Promise.all([model.close(), engine.close()]);
    }
    return 0;
  },
};
