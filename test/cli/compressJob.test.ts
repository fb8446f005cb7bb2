// `reducible compress --job -|job.json`: the IDE's typed contract (shared/jobProtocol.ts) run
// as a user's script would run it. The request writes the bytes the equivalent flags write;
// stdout is JobEvents, one per line; failures carry their stable code and the contract's exit
// code; an analysis handed in is what the job plans on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompressRequest, JobEvent } from '../../shared/jobProtocol.js';
import { tempDir } from '../helpers/cli.js';
import { ONE_CPU } from '../helpers/oneCpu.js';

interface JobRun { code: number; events: JobEvent[]; stdout: string; stderr: string }

function run(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const [cmd, ...rest] = [...ONE_CPU, process.execPath, 'dist/cli.js', ...args];
  const r = spawnSync(cmd, rest, { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const cli = (...args: string[]) => run(args);

function job(request: unknown, ...args: string[]): JobRun {
  const r = run(['compress', ...(args.length ? args : ['--job', '-'])], typeof request === 'string' ? request : JSON.stringify(request));
  const lines = r.stdout.split('\n').filter(Boolean);
  return { ...r, events: lines.map((l) => JSON.parse(l) as JobEvent) };
}

/** The example model in a folder of its own, so outputs of two runs get the same names. */
function exampleCopy(): string {
  const dir = tempDir();
  for (const f of ['model.json', 'weights.bin']) copyFileSync(join('examples/fashion-mnist', f), join(dir, f));
  return join(dir, 'model.json');
}

/** Every file a job wrote (the report's paths made relative), by name. */
function outputs(model: string): Map<string, string> {
  const dir = join(model, '..');
  return new Map(readdirSync(dir).filter((f) => f.includes('.reduced.')).sort().map((f) => [f, readFileSync(join(dir, f), 'latin1').replaceAll(dir, '<dir>')]));
}

function done(run: JobRun): Extract<JobEvent, { type: 'done' }>['report'] {
  assert.equal(run.code, 0, run.stderr);
  const last = run.events.at(-1);
  assert.equal(last?.type, 'done', run.stdout.slice(-500));
  return (last as Extract<JobEvent, { type: 'done' }>).report;
}

test('--job - writes the bytes the equivalent flags write; stdout is progress events, then done', () => {
  const [byFlags, byJob] = [exampleCopy(), exampleCopy()];
  const flags = cli('compress', byFlags, '--ratio', '0.34', '--dtype', 'f16', '--json');
  assert.equal(flags.code, 0, flags.stderr);
  const run = job({ model: byJob, goal: { ratio: 0.34 }, dtype: 'f16' } satisfies CompressRequest);
  const report = done(run);
  assert.deepEqual(outputs(byJob), outputs(byFlags));
  assert.ok(outputs(byJob).size >= 3, [...outputs(byJob).keys()].join(', '));
  assert.deepEqual(report, JSON.parse(readFileSync(`${report.output}.report.json`, 'utf8')));
  const progress = run.events.slice(0, -1);
  assert.ok(progress.length > 0 && progress.every((e) => e.type === 'progress'));
  const fractions = progress.map((e) => (e as Extract<JobEvent, { type: 'progress' }>).fraction);
  assert.ok(fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1])), `fractions ${fractions}`);
  assert.equal(run.stderr, '');
});

test('--job job.json with ranks writes what --ranks plan.json writes', () => {
  const [byFlags, byJob] = [exampleCopy(), exampleCopy()];
  const plan = join(byFlags, '..', 'plan.json');
  writeFileSync(plan, JSON.stringify({ layers: { dense_1: 20, dense_2: 12 }, dtype: 'int8' }));
  assert.equal(cli('compress', byFlags, '--ranks', plan).code, 0);
  const file = join(byJob, '..', 'job.json');
  writeFileSync(file, JSON.stringify({ model: byJob, goal: { ranks: { dense_1: 20, dense_2: 12 } }, dtype: 'int8' }));
  const report = done(job('', '--job', file));
  assert.deepEqual(report.layers.map((l) => [l.name, l.rank, l.dtype]), [['dense_1', 20, 'int8'], ['dense_2', 12, 'int8']]);
  assert.deepEqual(outputs(byJob), outputs(byFlags));
});

test('an existing output is an error event with code output-exists and exit code 2; force replaces it', () => {
  const model = exampleCopy();
  const request: CompressRequest = { model, goal: { energy: 0.9 } };
  const first = done(job(request));
  const again = job(request);
  assert.equal(again.code, 2);
  const refusals = again.events.filter((e) => e.type !== 'progress');
  assert.equal(refusals.length, 1, again.stdout);
  const [refusal] = refusals;
  // The first of the output's files found taken (a TF.js model's weights are written first).
  assert.ok(refusal.type === 'error' && refusal.code === 'output-exists' && first.files.includes(refusal.file!), again.stdout);
  assert.equal(refusal.message, `${refusal.file}: output exists (use --force to replace it)`);
  assert.equal(again.stderr, `reducible: ${refusal.message}\n`);
  assert.deepEqual(readdirSync(join(model, '..')).filter((f) => f.endsWith('.tmp')), []);
  done(job({ ...request, force: true }));
});

test('malformed JSON, a bad field or stray arguments: one error line on stdout and stderr, exit code 2', () => {
  const model = exampleCopy();
  const bad: [string, string[], RegExp][] = [
    ['{"model": ', [], /^the compress request on stdin is not JSON \(/],
    [JSON.stringify({ model, goal: { ratio: 0.5 }, methd: 'svd' }), [], /^unknown request field methd/],
    [JSON.stringify({ model, goal: { ratio: 0.5 } }), ['--job', '-', model], /^with --job the request names the model/],
    [JSON.stringify({ model, goal: { ratio: 0.5 } }), ['--job', '-', '--ratio', '0.5'], /^unknown option --ratio/],
  ];
  for (const [input, args, message] of bad) {
    const r = job(input, ...args);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout.split('\n').filter(Boolean).length, 1, r.stdout);
    const [event] = r.events;
    assert.ok(event.type === 'error' && event.code === 'bad-input' && message.test(event.message), r.stdout);
    assert.equal(r.stderr, `reducible: ${event.message}\n`);
  }
  const missing = job('', '--job', join(model, '..', 'nothing.json'));
  assert.equal(missing.code, 2);
  assert.ok(missing.events[0].type === 'error' && missing.events[0].file === join(model, '..', 'nothing.json'), missing.stdout);
  // A model that is not one names the model.
  const broken = join(model, '..', 'broken.safetensors');
  writeFileSync(broken, 'not a model');
  const r = job({ model: broken, goal: { ratio: 0.5 } });
  assert.equal(r.code, 2);
  assert.ok(r.events[0].type === 'error' && r.events[0].file === broken && r.events[0].code !== 'runtime', r.stdout);
  assert.deepEqual(readdirSync(join(model, '..')).filter((f) => f.includes('.reduced.')), []);
  // What this build cannot do is 'unsupported', still exit code 2.
  const engine = job({ model, goal: { ratio: 0.5 }, engine: 'tfjs-node' });
  assert.equal(engine.code, 2);
  assert.ok(engine.events[0].type === 'error' && engine.events[0].code === 'unsupported' && /tfjs-node/.test(engine.events[0].message), engine.stdout);
});

test('an analysis in the request is what the job plans on: the same bytes when it is the model\'s, its spectra when doctored', () => {
  const [byFlags, byJob] = [exampleCopy(), exampleCopy()];
  const analyzed = cli('analyze', byJob, '--json');
  assert.equal(analyzed.code, 0, analyzed.stderr);
  const analysis = JSON.parse(analyzed.stdout) as { layers: { name: string; singularValues: number[] }[] };
  assert.equal(cli('compress', byFlags, '--ratio', '0.34').code, 0);
  done(job({ model: byJob, goal: { ratio: 0.34 }, analysis } as CompressRequest));
  assert.deepEqual(outputs(byJob), outputs(byFlags));
  // A spectrum with all its energy in one value: rank 1 keeps 90 % of it, which only the handed-in spectra say.
  const doctored = { ...analysis, layers: analysis.layers.map((l) => (l.name === 'dense_1' ? { ...l, singularValues: l.singularValues.map((_, i) => (i ? 0 : 1)) } : l)) };
  const report = done(job({ model: byJob, goal: { energy: 0.9 }, analysis: doctored, force: true } as CompressRequest));
  assert.equal(report.layers.find((l) => l.name === 'dense_1')?.rank, 1);
  // One of another file is refused.
  const other = job({ model: byJob, goal: { ratio: 0.34 }, analysis: { ...analysis, path: byFlags }, force: true } as CompressRequest);
  assert.equal(other.code, 2);
  assert.ok(other.events[0].type === 'error' && /analysis: is of/.test(other.events[0].message), other.stdout);
});
