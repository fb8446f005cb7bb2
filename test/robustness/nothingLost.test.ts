// Nothing lost: whatever a command does — succeed, fail on bad flags or plans or an unwritable
// output, run out of disk, or be cancelled by a signal mid-job — the original model's files keep
// their bytes, mode and mtime, no temporary or partial output remains, and failures exit non-zero.
// Where strace is installed every command also runs under it, to see that no original file is
// ever opened for writing, renamed, removed or re-moded (hashes alone cannot see an open).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { makeFixtures, tempDir } from '../helpers/cli.js';
import { lowRankMlp } from '../fixtures/tfjsModels.js';

const STRACE = existsSync('/usr/bin/strace') ? '/usr/bin/strace' : undefined;

interface Fixture { format: string; model: string; dir: string; originals: string[]; outExt: string }

/** Copies a fixture model (and the files beside it that belong to it) into its own folder. */
function place(format: string, from: string, files: string[], outExt: string): Fixture {
  const dir = tempDir('reducible-lost-');
  for (const f of files) copyFileSync(join(from, f), join(dir, f));
  return { format, model: join(dir, files[0]), dir, originals: files.map((f) => join(dir, f)), outExt };
}

async function fixtures(): Promise<Fixture[]> {
  const tfjs = tempDir();
  await lowRankMlp(tfjs, 6);
  const st = makeFixtures('test/fixtures/make_safetensors.py');
  const onnx = makeFixtures('test/fixtures/make_onnx.py');
  const pt = makeFixtures('test/fixtures/make_pytorch.py');
  const keras = makeFixtures('test/fixtures/make_keras.py');
  return [
    place('tfjs', tfjs, ['model.json', 'model.weights.bin'], '.json'),
    place('safetensors', st, ['mlp-float16.safetensors'], '.safetensors'),
    place('onnx', onnx, ['external.onnx', 'external.onnx.data'], '.onnx'),
    place('pytorch', pt, ['mlp.pt'], '.safetensors'),
    place('keras-h5', keras, ['mlp.h5'], '.h5'),
  ];
}

interface FileState { mode: number; mtimeMs: number; sha256: string }
const state = (p: string): FileState => {
  const s = statSync(p);
  return { mode: s.mode, mtimeMs: s.mtimeMs, sha256: createHash('sha256').update(readFileSync(p)).digest('hex') };
};
const snapshot = (files: string[]): Record<string, FileState> => Object.fromEntries(files.map((f) => [f, state(f)]));

/** System calls that would change an original: opens for writing, renames, removals, mode and time changes. */
const WRITE_CALL = /^\d+\s+(?:(?:openat|open|openat2)\(.*(?:O_WRONLY|O_RDWR|O_TRUNC|O_CREAT)|(?:rename|renameat2?|unlink|unlinkat|chmod|fchmodat|utimensat|truncate|link|linkat)\()/;

/** Runs the built CLI (under strace when there is one) and checks it left the originals alone. */
function run(f: Fixture, args: string[]): { code: number; stderr: string; stdout: string; writes: string[] } {
  const before = snapshot(f.originals);
  const log = join(tempDir(), 'strace.log');
  const argv = ['dist/cli.js', ...args];
  const r = STRACE
    ? spawnSync(STRACE, ['-f', '-qq', '-o', log, '-e', 'trace=open,openat,openat2,rename,renameat,renameat2,unlink,unlinkat,chmod,fchmodat,utimensat,truncate,link,linkat', process.execPath, ...argv], { encoding: 'utf8', timeout: 120_000 })
    : spawnSync(process.execPath, argv, { encoding: 'utf8', timeout: 120_000 });
  const what = `${f.format}: ${args.join(' ')}`;
  assert.deepEqual(snapshot(f.originals), before, `${what}: originals unchanged (bytes, mode, mtime)`);
  const writes = STRACE ? readFileSync(log, 'utf8').split('\n').filter((l) => WRITE_CALL.test(l)) : [];
  assert.deepEqual(writes.filter((l) => f.originals.some((o) => l.includes(`"${o}"`))), [], `${what}: no original opened for writing`);
  return { code: r.status ?? -1, stderr: r.stderr, stdout: r.stdout, writes };
}

const listing = (dir: string): string[] => readdirSync(dir).sort();
const noTemporaries = (dir: string): void => assert.deepEqual(listing(dir).filter((n) => n.includes('.tmp')), [], `temporaries in ${dir}`);

const all = await fixtures();

for (const f of all) {
  test(`${f.format}: analyze, compress (ratio, energy, ranks) and evaluate leave the original as it was`, () => {
    const out = (name: string): string => join(f.dir, `${name}${f.outExt}`);
    const analysis = run(f, ['analyze', f.model, '--json']);
    assert.equal(analysis.code, 0, analysis.stderr);
    assert.equal(run(f, ['analyze', f.model]).code, 0);
    const layer = (JSON.parse(analysis.stdout).layers as { name: string; shape: number[] }[])[0];
    const plan = join(tempDir(), 'plan.json');
    writeFileSync(plan, JSON.stringify({ layers: { [layer.name]: 2 } }));
    // The fixtures' random weights have flat spectra: plain SVD at these ratios is a deep cut, asked for.
    for (const [name, goal] of [['ratio', ['--ratio', '0.5', '--allow-deep-cuts']], ['energy', ['--energy', '0.9']], ['ranks', ['--ranks', plan]]] as const) {
      const before = listing(f.dir);
      const r = run(f, ['compress', f.model, ...goal, '-o', out(name)]);
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      // Only the output's own files appear: the model file, its report, a TF.js weights file.
      const added = listing(f.dir).filter((n) => !before.includes(n));
      assert.ok(added.length >= 2 && added.every((n) => n.startsWith(name)), `${name}: added ${added.join(', ')}`);
      // The trace does see writes: the output's temporary is created next to it, then renamed.
      if (STRACE) assert.ok(r.writes.some((l) => l.includes(`${f.dir}/.${name}`) && l.includes('.tmp')), `${name}: traced writes ${r.writes.join('\n')}`);
    }
    const e = run(f, ['evaluate', f.model, out('ratio')]);
    assert.equal(e.code, 0, e.stderr);
    noTemporaries(f.dir);
  });
}

test('failures: bad flags, bad or missing plans, unwritable or existing outputs exit 2 and write nothing', () => {
  for (const f of all.filter((x) => x.format === 'tfjs' || x.format === 'pytorch')) {
    const existing = join(f.dir, `ratio${f.outExt}`);
    const plans = tempDir();
    writeFileSync(join(plans, 'unknown.json'), JSON.stringify({ layers: { nope: 1 } }));
    writeFileSync(join(plans, 'broken.json'), '{"layers": ');
    const cases: string[][] = [
      ['compress', f.model, '--ratio', '2'],
      ['compress', f.model, '--ratio', '0.5', '--energy', '0.9'],
      ['compress', f.model, '--ranks', join(plans, 'missing.json')],
      ['compress', f.model, '--ranks', join(plans, 'unknown.json')],
      ['compress', f.model, '--ranks', join(plans, 'broken.json')],
      ['compress', f.model, '--ratio', '0.5', '-o', `/proc/x${f.outExt}`],
      ['compress', f.model, '--ratio', '0.5', '-o', join(f.dir, 'missing', `x${f.outExt}`)],
      ['compress', f.model, '--ratio', '0.5', '-o', existing],
      ['compress', f.model, '--ratio', '0.5', '-o', f.model],
      ['evaluate', f.model, join(f.dir, `nope${f.outExt}`)],
      ['analyze', f.model, '--bogus'],
    ];
    const kept = snapshot([existing]);
    for (const args of cases) {
      const before = listing(f.dir);
      const r = run(f, args);
      assert.equal(r.code, 2, `${f.format}: ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.deepEqual(listing(f.dir), before, `${args.join(' ')}: nothing written`);
    }
    assert.deepEqual(snapshot([existing]), kept, 'an existing output is not replaced without --force');
    noTemporaries(f.dir);
  }
});

/** A safetensors model big enough that analysing and factorising take a while: 8 Linear 768×768. */
function bigModel(): Fixture {
  const dir = tempDir('reducible-lost-');
  const n = 768, count = 8, bytes = n * n * 4;
  const header: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) header[`l${i}.weight`] = { dtype: 'F32', shape: [n, n], data_offsets: [i * bytes, (i + 1) * bytes] };
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  const data = randomBytes(count * bytes);
  // Random bytes as floats include NaN and Inf; keep the exponent small so values are finite.
  for (let i = 3; i < data.length; i += 4) data[i] &= 0x3f;
  writeFileSync(join(dir, 'big.safetensors'), Buffer.concat([len, h, data]));
  return { format: 'safetensors', model: join(dir, 'big.safetensors'), dir, originals: [join(dir, 'big.safetensors')], outExt: '.safetensors' };
}

/** Starts a compression, sends `signal` when a progress label matches `when`, resolves with the exit. */
function cancelDuring(f: Fixture, when: RegExp, signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string; signalled: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/cli.js', 'compress', f.model, '--ratio', '0.3', '--allow-deep-cuts', '--engine', 'wasm', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '', signalled = false;
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no exit within 120 s: ${stderr}`)); }, 120_000);
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!signalled && when.test(stderr)) { signalled = true; child.kill(signal); }
    });
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr, signalled }); });
  });
}

for (const [signal, when] of [['SIGINT', /"label":"analysing/], ['SIGTERM', /"label":"factorised/]] as const) {
  test(`cancellation by ${signal} mid-job: exit 1, no output, no temporaries, original unchanged`, async () => {
    const f = bigModel();
    const before = snapshot(f.originals);
    const r = await cancelDuring(f, when, signal);
    assert.ok(r.signalled, `the job reached ${when} before ending: ${r.stderr.slice(-500)}`);
    assert.equal(r.code, 1, r.stderr.slice(-500));
    assert.match(r.stderr, /reducible: cancelled/);
    assert.deepEqual(listing(f.dir), [basename(f.model)], 'only the original remains');
    assert.deepEqual(snapshot(f.originals), before);
  });
}

const canMount = process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
test('a full disk fails the job non-zero and leaves no partial output', { skip: canMount ? false : 'needs root to mount a small tmpfs' }, (t) => {
  const f = bigModel();
  const small = join(f.dir, 'small');
  mkdirSync(small);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]);
  if (mounted.status !== 0) { t.skip(`mount refused: ${mounted.stderr}`); return; }
  try {
    const r = run(f, ['compress', f.model, '--ratio', '0.9', '--allow-deep-cuts', '--engine', 'wasm', '-o', join(small, 'out.safetensors')]);
    const df = spawnSync('df', ['-k', small], { encoding: 'utf8' }).stdout;
    assert.notEqual(r.code, 0, `a job that could not write its output fails (stdout ${r.stdout.slice(-300)}; stderr ${r.stderr.slice(-300)}; ${df}; ${listing(small).join(' ')})`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.includes(`${join(small, 'out.safetensors')}: cannot write (ENOSPC)`), `names the output and the problem: ${r.stderr}`);
    assert.deepEqual(listing(small), [], 'no partial output or temporary on the full disk');
  } finally {
    spawnSync('umount', [small]);
  }
});
