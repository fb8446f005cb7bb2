// Fine-tuning speed against the distillation step a user would write in PyTorch, in one run.
// Run: npx tsx bench/finetune/run.ts [--steps N] (default 1000; the build must be current)
// Subject (make_mlp.py): a Fashion-MNIST MLP of 1.3 M parameters as ONNX and 2 000 calibration
// images. Reference: the same step (batch 256, Adam, KL between the teacher's and a factorised
// student's softmax at about 10 % of the parameters) in Debian's CPU PyTorch, median of 200
// steps, printed by make_mlp.py. Ours: `reducible compress --ratio 0.1 --method whitened
// --calibration calib.npy --finetune N` as a whole process (fine-tuning in PyTorch where it starts,
// as here; again with `--engine embedded`, in TF.js), and its time per step from the
// arrival times of its `--json` progress lines (the median over consecutive lines of time / steps),
// and the same command without `--finetune`. CPU time too (user + system, from /usr/bin/time):
// per step, the difference between the two commands over the steps trained, against PyTorch's
// CPU time per step — load moves it far less than wall time. Prints the load average: quote
// wall times from a quiet machine.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

const stepsArg = process.argv.indexOf('--steps');
const STEPS = stepsArg > 0 ? Number(process.argv[stepsArg + 1]) : 1000;
const PY = '/usr/bin/python3';
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Run { seconds: number; cpuSeconds: number; stepMs?: number; trainedSteps: number }

/** Whole-process wall time of one compress, and the time per fine-tuning step from its progress lines. */
function compress(dir: string, out: string, finetune: number, engine = 'auto'): Promise<Run> {
  const args = ['dist/cli.js', 'compress', join(dir, 'mlp.onnx'), '--ratio', '0.1', '--method', 'whitened', '--calibration', join(dir, 'calib.npy'),
    ...(finetune ? ['--finetune', String(finetune)] : []), '--engine', engine, '-o', join(dir, out), '--json'];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('/usr/bin/time', ['-f', 'cpu %U %S', process.execPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    const steps: { step: number; at: number }[] = [];
    let rest = '', err = '', cpuSeconds = 0;
    p.stderr.on('data', (d: Buffer) => {
      const at = performance.now();
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        const m = /fine-tuning, step (\d+) of/.exec(line);
        if (m) steps.push({ step: Number(m[1]), at }); else err += `${line}\n`;
        const cpu = /^cpu ([\d.]+) ([\d.]+)$/.exec(line);
        if (cpu) cpuSeconds = Number(cpu[1]) + Number(cpu[2]);
      }
    });
    p.on('close', (code) => {
      if (code !== 0) { reject(new Error(`compress failed: ${err}`)); return; }
      // Time per step between progress lines 10 or more steps apart; the few pairs around a new
      // try also hold the scoring between tries, which the median leaves out.
      const gaps = steps.slice(1).flatMap((s, i) => (s.step - steps[i].step >= 10 ? [(s.at - steps[i].at) / (s.step - steps[i].step)] : []));
      resolve({ seconds: (performance.now() - t0) / 1000, cpuSeconds, stepMs: gaps.length ? median(gaps) : undefined, trainedSteps: steps.at(-1)?.step ?? 0 });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'reducible-bench-finetune-'));
try {
  console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const made = spawnSync(PY, [new URL('make_mlp.py', import.meta.url).pathname, dir], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`make_mlp.py failed: ${made.stderr}`);
  const ref = JSON.parse(made.stdout.trim().split('\n').pop()!) as { params: number; torchThreads: number; referenceStepMs: number; referenceStepCpuMs: number };
  const plain = await compress(dir, 'plain.onnx', 0);
  const tuned = await compress(dir, 'tuned.onnx', STEPS);
  const inTfjs = await compress(dir, 'tfjs.onnx', STEPS, 'embedded');
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`model: ONNX MLP, ${ref.params} parameters; 2 000 calibration images; --ratio 0.1 --method whitened`);
  const cpuStep = (1000 * (tuned.cpuSeconds - plain.cpuSeconds)) / tuned.trainedSteps;
  console.log('| | wall | CPU |');
  console.log('|---|---:|---:|');
  console.log(`| one distillation step, PyTorch, ${ref.torchThreads} thread(s) (200 steps) | ${ref.referenceStepMs.toFixed(1)} ms | ${ref.referenceStepCpuMs.toFixed(1)} ms |`);
  console.log(`| one distillation step, reducible (wall: median from progress lines; CPU: whole process with minus without fine-tuning, per step) | ${tuned.stepMs?.toFixed(1) ?? '–'} ms | ${cpuStep.toFixed(1)} ms |`);
  console.log(`| ratio | ${tuned.stepMs ? (tuned.stepMs / ref.referenceStepMs).toFixed(2) : '–'} | ${(cpuStep / ref.referenceStepCpuMs).toFixed(2)} |`);
  const tfjsCpuStep = (1000 * (inTfjs.cpuSeconds - plain.cpuSeconds)) / inTfjs.trainedSteps;
  console.log(`| one distillation step, reducible in TF.js (--engine embedded) | ${inTfjs.stepMs?.toFixed(1) ?? '–'} ms | ${tfjsCpuStep.toFixed(1)} ms |`);
  console.log(`| ratio, TF.js | ${inTfjs.stepMs ? (inTfjs.stepMs / ref.referenceStepMs).toFixed(2) : '–'} | ${(tfjsCpuStep / ref.referenceStepCpuMs).toFixed(2)} |`);
  console.log(`| compress, no fine-tuning (whole process) | ${plain.seconds.toFixed(1)} s | ${plain.cpuSeconds.toFixed(1)} s |`);
  console.log(`| compress --finetune ${STEPS} (whole process; ${tuned.trainedSteps} steps trained over the temperatures and back-off tried) | ${tuned.seconds.toFixed(1)} s | ${tuned.cpuSeconds.toFixed(1)} s |`);
  console.log(`| compress --finetune ${STEPS} --engine embedded (TF.js; ${inTfjs.trainedSteps} steps) | ${inTfjs.seconds.toFixed(1)} s | ${inTfjs.cpuSeconds.toFixed(1)} s |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
