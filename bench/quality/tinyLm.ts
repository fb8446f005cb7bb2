// Perplexity against parameters kept for examples/tiny-lm (issue 21's evidence): plain SVD,
// `--method whitened`, and whitened with fine-tuning, each through the same compressFile as
// `reducible compress --torch-model`, then `evaluate --torch-model` on the held-out token ids.
// Each cell is kept in bench/quality/results/tiny-lm/<method>@<ratio>.json, so cells can be
// measured by separate runs; TINY_LM.md is rendered from all of them. The model comes from examples/tiny-lm/train.py (DIR: where
// it wrote model.safetensors, calibration.npy, heldout.npy; default examples/tiny-lm).
// Run: node --import tsx bench/quality/tinyLm.ts   (RATIOS=0.6,0.5 METHODS=svd,whitened,finetune FINETUNE=steps)
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compressFile } from '../../core/compress/job.js';
import { createEngine } from '../../core/engines/select.js';
import { evaluate, inputsFromFile } from '../../core/eval/evaluate.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const DIR = resolve(process.env.DIR ?? join(HERE, '../../examples/tiny-lm'));
const MODULE = `${resolve(HERE, '../../examples/tiny-lm/model.py')}:${process.env.CONFIG ?? 'full'}`;
const RATIOS = (process.env.RATIOS ?? '0.6,0.5,0.4,0.3').split(',').map(Number);
const METHODS = (process.env.METHODS ?? 'svd,whitened,finetune').split(',');
const STEPS = Number(process.env.FINETUNE ?? 200);
const LABELS: Record<string, string> = { svd: 'plain SVD', whitened: '--method whitened', finetune: `--method whitened --finetune ${STEPS}` };

interface Cell { ppl: number; base: number; params: number; seconds: number; load: number }

const RESULTS = join(HERE, 'results/tiny-lm');

function savedCells(): Map<string, Cell> {
  if (!existsSync(RESULTS)) return new Map();
  return new Map(readdirSync(RESULTS).map((f) => [f.slice(0, -'.json'.length), JSON.parse(readFileSync(join(RESULTS, f), 'utf8')) as Cell]));
}

async function main(): Promise<void> {
  const model = join(DIR, 'model.safetensors'), heldout = join(DIR, 'heldout.npy');
  const calibration = await inputsFromFile(join(DIR, 'calibration.npy'));
  const engine = await createEngine('auto');
  const work = mkdtempSync(join(tmpdir(), 'reducible-tiny-lm-'));
  mkdirSync(RESULTS, { recursive: true });
  try {
    for (const ratio of RATIOS) {
      for (const method of METHODS) {
        const out = join(work, `${method}-${ratio}.safetensors`);
        const started = Date.now();
        const report = await compressFile(model, {
          goal: { kind: 'ratio', ratio }, method: method === 'svd' ? 'svd' : 'whitened', engine, out, force: true, torchModel: MODULE,
          ...(method === 'svd' ? {} : { calibration }), ...(method === 'finetune' ? { finetune: STEPS } : {}),
        });
        const seconds = (Date.now() - started) / 1000;
        const e = await evaluate(model, out, { inputs: heldout, torchModel: MODULE });
        const base = e.original.perplexity!;
        const cell: Cell = { ppl: e.compressed.perplexity!, base, params: report.compressedParams / report.originalParams, seconds, load: loadavg()[0] };
        writeFileSync(join(RESULTS, `${method}@${ratio}.json`), `${JSON.stringify(cell)}\n`);
        console.log(`${LABELS[method]} --ratio ${ratio}: perplexity ${cell.ppl.toFixed(3)} (×${(cell.ppl / base).toFixed(3)}), ${seconds.toFixed(0)} s`);
      }
    }
  } finally {
    await engine.close();
    rmSync(work, { recursive: true, force: true });
  }
  render(engine.description);
}

function render(engine: string): void {
  const cells = savedCells();
  const ratios = [...new Set([...cells.keys()].map((k) => Number(k.split('@')[1])))].sort((a, b) => b - a);
  const methods = Object.keys(LABELS).filter((m) => ratios.some((r) => cells.has(`${m}@${r}`)));
  const base = [...cells.values()][0]?.base ?? NaN;
  const loads = [...cells.values()].map((c) => c.load);
  const cell = (method: string, ratio: number): string => {
    const c = cells.get(`${method}@${ratio}`);
    return c ? `${c.ppl.toFixed(3)} (×${(c.ppl / base).toFixed(3)}; ${(c.params * 100).toFixed(1)} %, ${c.seconds.toFixed(0)} s)` : '–';
  };
  const excess = (method: string, ratio: number): string => {
    const w = cells.get(`${method}@${ratio}`), p = cells.get(`svd@${ratio}`);
    return w && p ? `${(100 * (1 - (w.ppl / base - 1) / (p.ppl / base - 1))).toFixed(0)} %` : '–';
  };
  const lines = [
    '## Quality: tiny LM perplexity against parameters kept',
    '',
    `Measured by \`node --import tsx bench/quality/tinyLm.ts\` on ${engine}, ${cpus().length} cores shared with other work (load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} as cells finished, so wall times are noisy).`,
    `Model: \`examples/tiny-lm\` (${MODULE.slice(MODULE.lastIndexOf(':') + 1)} configuration), trained by \`train.py\` on the Vim user manual (Debian vim-runtime); held-out perplexity on \`heldout.npy\` (the last 10 % of the text; calibration windows come from the first 90 %), uncompressed ${base.toFixed(3)}.`,
    'Cells: held-out perplexity (× the original\'s; parameters kept; compress wall time, CPU).',
    '',
    `| method | ${ratios.map((r) => `--ratio ${r}`).join(' | ')} |`,
    `|---|${ratios.map(() => '---').join('|')}|`,
    ...methods.map((m) => `| ${LABELS[m]} | ${ratios.map((r) => cell(m, r)).join(' | ')} |`),
    ...methods.filter((m) => m !== 'svd').map((m) => `| plain SVD's excess perplexity removed by ${LABELS[m]} | ${ratios.map((r) => excess(m, r)).join(' | ')} |`),
    '',
  ];
  writeFileSync(join(HERE, 'TINY_LM.md'), lines.join('\n'));
}

main().catch((e: unknown) => { console.error(e); process.exitCode = 1; });
