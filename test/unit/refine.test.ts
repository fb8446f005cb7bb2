// Held-out refinement of sensitivity allocation's plan (core/compress/refine.ts), on the
// real digits model: it keeps the plan's budget, never does worse by fidelity.ts's rule on
// the inputs it scores, never scores the held-out inputs, and the job reports what it did.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { heldOut } from '../../core/compress/distil.js';
import { better } from '../../core/compress/fidelity.js';
import { makePlan } from '../../core/compress/plan.js';
import { runnerFor } from '../../core/formats/registry.js';
import { refinementInputs, refinePlan } from '../../core/compress/refine.js';
import type { CompressReport } from '../../core/compress/report.js';
import { plainStrategy, whitenedStrategy, withSensitivity } from '../../core/compress/strategy.js';
import { createEngine } from '../../core/engines/select.js';
import { inputsFromFile } from '../../core/eval/evaluate.js';
import { openModel } from '../../core/formats/open.js';
import { cli, tempDir } from '../helpers/cli.js';

const EX = 'examples/digits';

test('refinement moves rank between layers within the plan\'s parameters and never scores worse', async () => {
  const model = await openModel(`${EX}/model.json`);
  const engine = await createEngine('embedded');
  try {
    const x = await inputsFromFile(`${EX}/calib.npz:x`);
    const held = heldOut(x);
    const scored = refinementInputs(x, held);
    // Disjoint: the scored inputs end where the held-out ones begin.
    assert.equal(scored.shape[0] + held.shape[0], x.shape[0]);
    assert.deepEqual(scored.data.subarray(scored.data.length - 64), x.data.subarray(x.data.length - held.data.length - 64, x.data.length - held.data.length));
    const runner = runnerFor(model, { out: `${EX}/unused.json` });
    const strategy = await withSensitivity(await whitenedStrategy(model, engine, x, {}, runner, await plainStrategy(model, engine, {})), model, x, {}, runner);
    const plan = await makePlan(strategy.analysis, { kind: 'ratio', ratio: 0.2 });
    const { plan: refined, refinement: r } = (await refinePlan(runner, model.layers, strategy, plan, scored))!;
    const params = (p: Map<string, number>): number => model.layers.reduce((s, l) => {
      const k = p.get(l.name) ?? Infinity;
      return s + (k < Math.min(l.matrix.rows, l.matrix.cols) ? k * (l.matrix.rows + l.matrix.cols) : l.matrix.rows * l.matrix.cols);
    }, 0);
    assert.ok(params(refined) <= params(plan), `${params(refined)} > ${params(plan)}`);
    // Moves spend what earlier ones left over: less than one rank of a factorised layer stays unspent.
    const rankCost = Math.max(...model.layers.filter((l) => r.ranks[l.name] !== undefined).map((l) => l.matrix.rows + l.matrix.cols));
    assert.ok(params(plan) - params(refined) < rankCost, `${params(plan) - params(refined)} params unspent`);
    assert.ok(!better(r.before, r.after, true), `after ${JSON.stringify(r.after)} worse than before ${JSON.stringify(r.before)}`);
    assert.ok(r.evaluations >= 2 && r.evaluations <= 40);
    assert.equal(r.before.samples, scored.shape[0]);
    // On this model at 20 %, the allocator's plan is not the best split: a move lowers the output error.
    assert.ok(better(r.after, r.before, true), JSON.stringify(r));
    assert.deepEqual(Object.keys(r.ranks).sort(), model.layers.filter((l) => (plan.get(l.name) ?? Infinity) < Math.min(l.matrix.rows, l.matrix.cols)).map((l) => l.name).sort());
  } finally {
    await engine.close();
    await model.close();
  }
});

test('--method whitened reports the refinement, and writes the refined ranks', () => {
  const out = join(tempDir(), 'refined.json');
  const c = cli('compress', `${EX}/model.json`, '--ratio', '0.1', '--method', 'whitened', '--calibration', `${EX}/calib.npz:x`, '-o', out, '--json');
  assert.equal(c.code, 0, c.stderr);
  const report = JSON.parse(c.stdout) as CompressReport;
  assert.equal(report.methodChoice?.kept, 'whitened');
  assert.ok(report.refinement, 'refinement reported');
  assert.deepEqual(Object.fromEntries(report.layers.map((l) => [l.name, l.rank])), report.refinement.ranks);
  assert.ok(report.compressedParams <= 0.1 * report.originalParams + 1);
});
