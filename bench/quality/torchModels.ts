// Quality of PyTorch models compressed with --torch-model (issue 21's evidence): plain SVD,
// `--method whitened`, and whitened with fine-tuning, each through the same compressFile as
// `reducible compress --torch-model`, then `evaluate --torch-model` (the module run in the
// PyTorch worker) on held-out data: perplexity for the tiny LM, test accuracy for the
// Fashion-MNIST MLP (the bundled TF.js model's weights as a PyTorch checkpoint, so its rows
// compare with RESULTS.md's TF.js rows). Each cell is kept in
// bench/quality/results/<subject>/<method>@<ratio>.json, so cells can be measured by separate
// runs; TORCH.md is rendered from all of them.
// Before: examples/tiny-lm/train.py (writes the LM and its splits; DIR= where, default beside
// it) and examples/fashion-mnist/torch/export.py (writes model.pt).
// Run: node --import tsx bench/quality/torchModels.ts   (SUBJECTS=tiny-lm,fashion-mlp RATIOS=0.5,0.4 METHODS=svd,whitened,finetune;
// --render: TORCH.md from the kept cells only)
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compressFile } from '../../core/compress/job.js';
import { createEngine } from '../../core/engines/select.js';
import { evaluate, inputsFromFile, type EvalReport } from '../../core/eval/evaluate.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const EXAMPLES = resolve(HERE, '../../examples');
const LM = resolve(process.env.DIR ?? join(EXAMPLES, 'tiny-lm'));

interface Subject {
  title: string; about: string; model: string; module: string; calibration: string; inputs: string; labels?: string;
  ratios: number[]; steps: number; metric: 'perplexity' | 'accuracy';
}

const SUBJECTS: Record<string, Subject> = {
  'tiny-lm': {
    title: 'Tiny LM (examples/tiny-lm, full configuration: 4 blocks, width 256, byte-level)',
    about: 'trained by `train.py` on the Vim user manual (Debian vim-runtime); perplexity on `heldout.npy` (the last 10 % of the text; calibration windows come from the first 90 %)',
    model: join(LM, 'model.safetensors'), module: `${join(EXAMPLES, 'tiny-lm/model.py')}:full`,
    calibration: join(LM, 'calibration.npy'), inputs: join(LM, 'heldout.npy'), ratios: [0.6, 0.5, 0.4, 0.3], steps: 200, metric: 'perplexity',
  },
  'fashion-mlp': {
    title: 'Fashion-MNIST MLP as a PyTorch checkpoint (examples/fashion-mnist/torch)',
    about: 'the bundled TF.js MLP\'s weights in `model.py`\'s module, saved with torch.save (`export.py`); accuracy on the 10 000 test images; calibration: the committed 5 000 unlabeled training images (`calib.npz`; RESULTS.md\'s TF.js rows used all 60 000)',
    model: join(EXAMPLES, 'fashion-mnist/torch/model.pt'), module: `${join(EXAMPLES, 'fashion-mnist/torch/model.py')}:make`,
    calibration: join(EXAMPLES, 'fashion-mnist/calib.npz:x'), inputs: join(EXAMPLES, 'fashion-mnist/test.npz:x'), labels: join(EXAMPLES, 'fashion-mnist/test.npz:y'),
    ratios: [0.5, 0.34, 0.2, 0.1, 0.05], steps: 1000, metric: 'accuracy',
  },
};

const METHODS = ['svd', 'whitened', 'finetune'] as const;
type MethodId = (typeof METHODS)[number];
const label = (m: MethodId, steps: number): string => ({ svd: 'plain SVD', whitened: '--method whitened', finetune: `--method whitened --finetune ${steps}` })[m];

interface Cell { value: number; base: number; params: number; seconds: number; load: number }

const resultsOf = (id: string): string => join(HERE, 'results', id);

function measure(report: EvalReport, metric: Subject['metric']): { value: number; base: number } {
  const side = (s: EvalReport['original']): number => (metric === 'perplexity' ? s.perplexity : s.accuracy)!;
  return { value: side(report.compressed), base: side(report.original) };
}

async function main(): Promise<void> {
  if (process.argv.includes('--render')) {
    writeFileSync(join(HERE, 'TORCH.md'), render());
    return;
  }
  const chosen = (process.env.SUBJECTS ?? Object.keys(SUBJECTS).join(',')).split(',');
  const methods = (process.env.METHODS ?? METHODS.join(',')).split(',') as MethodId[];
  const engine = await createEngine('auto');
  const work = mkdtempSync(join(tmpdir(), 'reducible-torch-bench-'));
  try {
    for (const id of chosen) {
      const s = SUBJECTS[id];
      const calibration = await inputsFromFile(s.calibration);
      mkdirSync(resultsOf(id), { recursive: true });
      for (const ratio of process.env.RATIOS?.split(',').map(Number) ?? s.ratios) {
        for (const method of methods) {
          const out = join(work, `${id}-${method}-${ratio}.safetensors`);
          const started = Date.now();
          const report = await compressFile(s.model, {
            // Plain SVD is the baseline measured, deep cuts included (the CLI would refuse those plans).
            goal: { kind: 'ratio', ratio }, method: method === 'svd' ? 'svd' : 'whitened', engine, out, force: true, torchModel: s.module, allowDeepCuts: true,
            ...(method === 'svd' ? {} : { calibration }), ...(method === 'finetune' ? { finetune: s.steps } : {}),
          });
          const seconds = (Date.now() - started) / 1000;
          const e = await evaluate(s.model, out, { inputs: s.inputs, labels: s.labels, torchModel: s.module });
          const cell: Cell = { ...measure(e, s.metric), params: report.compressedParams / report.originalParams, seconds, load: loadavg()[0] };
          writeFileSync(join(resultsOf(id), `${method}@${ratio}.json`), `${JSON.stringify(cell)}\n`);
          console.log(`${id} ${label(method, s.steps)} --ratio ${ratio}: ${s.metric} ${cell.value.toFixed(4)} (original ${cell.base.toFixed(4)}), ${seconds.toFixed(0)} s`);
        }
      }
    }
  } finally {
    await engine.close();
    rmSync(work, { recursive: true, force: true });
  }
  writeFileSync(join(HERE, 'TORCH.md'), render());
}

function render(): string {
  const lines = [
    '## Quality: PyTorch models run by their own module (`--torch-model`)',
    '',
    `Measured by \`node --import tsx bench/quality/torchModels.ts\`: spectra and factors on the \`auto\` engine, the modules run in the PyTorch worker on CPU, ${cpus().length} cores shared with other work, so wall times are noisy (the load average as each cell finished is in its results file).`,
  ];
  for (const [id, s] of Object.entries(SUBJECTS)) {
    const dir = resultsOf(id);
    if (!existsSync(dir)) continue;
    const cells = new Map(readdirSync(dir).map((f) => [f.slice(0, -'.json'.length), JSON.parse(readFileSync(join(dir, f), 'utf8')) as Cell]));
    const ratios = [...new Set([...cells.keys()].map((k) => Number(k.split('@')[1])))].sort((a, b) => b - a);
    const methods = METHODS.filter((m) => ratios.some((r) => cells.has(`${m}@${r}`)));
    const base = [...cells.values()][0].base;
    const lm = s.metric === 'perplexity';
    const cell = (m: MethodId, r: number): string => {
      const c = cells.get(`${m}@${r}`);
      if (!c) return '–';
      const value = lm ? `${c.value.toFixed(3)} (×${(c.value / base).toFixed(3)})` : `${(c.value * 100).toFixed(2)} (${((c.value - base) * 100).toFixed(2)})`;
      return `${value}; ${(c.params * 100).toFixed(1)} %, ${c.seconds.toFixed(0)} s`;
    };
    /** The share of plain SVD's loss (excess perplexity, accuracy drop) the method removes. */
    const removed = (m: MethodId, r: number): string => {
      const w = cells.get(`${m}@${r}`), p = cells.get(`svd@${r}`);
      if (!w || !p) return '–';
      const loss = (c: Cell): number => (lm ? c.value / base - 1 : base - c.value);
      return loss(p) > 0 ? `${(100 * (1 - loss(w) / loss(p))).toFixed(0)} %` : '–';
    };
    lines.push('', `### ${s.title}`, '', `${s.about}; uncompressed ${lm ? `perplexity ${base.toFixed(3)}` : `accuracy ${(base * 100).toFixed(2)} %`}.`,
      `Cells: ${lm ? 'held-out perplexity (× the original\'s)' : 'test accuracy % (change, points)'}; parameters kept; compress wall time.`, '',
      `| method | ${ratios.map((r) => `--ratio ${r}`).join(' | ')} |`, `|---|${ratios.map(() => '---').join('|')}|`,
      ...methods.map((m) => `| ${label(m, s.steps)} | ${ratios.map((r) => cell(m, r)).join(' | ')} |`),
      ...methods.filter((m) => m !== 'svd').map((m) => `| plain SVD's ${lm ? 'excess perplexity' : 'accuracy drop'} removed by ${label(m, s.steps)} | ${ratios.map((r) => removed(m, r)).join(' | ')} |`));
  }
  return `${lines.join('\n')}\n`;
}

main().catch((e: unknown) => { console.error(e); process.exitCode = 1; });
