// Hostile Keras HDF5 files (issue 20, made by make_hostile_hdf5.py) through the built CLI:
// external links, virtual datasets and external storage that point out of the model folder,
// gzip and fill-value bombs declaring 1 GiB, kernels stored in another shape than the config
// says, string kernels. `analyze` and `compress` each refuse every one with exit code 2 and
// one line naming the input, within 10 s (of CPU) and 512 MB of peak RSS, write nothing, and leave the
// input and the files it points at as they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeFixtures, tempDir } from '../helpers/cli.js';
import { PYTHON } from '../helpers/python.js';
import { modelsRequest, type ModelSummary } from '../../shared/protocol.js';
import { fileUri, LspSession } from '../lsp/lspClient.js';

const TIME = '/usr/bin/time';
const MAX_SECONDS = 10;
const MAX_RSS_MB = 512;

const OUTSIDE = /refused, a model's data must be in its own file|refers to data in another file/;
const CASES: [string, RegExp][] = [
  ['extlink.h5', /"\/model_weights\/dense\/dense\/kernel:0" is an external link to "[^"]*outside\/secret\.h5:\/kernel"/],
  ['extlink.keras', /model\.weights\.h5: "\/layers\/dense\/vars\/0" is an external link/],
  ['extlink-passwd.h5', /is an external link to "\/etc\/passwd:\/x"/],
  ['vds.h5', /dataset "\/model_weights\/dense\/dense\/kernel:0" is a virtual dataset \(of "[^"]*outside\/secret\.h5:kernel"\)/],
  ['vds.keras', /dataset "\/layers\/dense\/vars\/0" is a virtual dataset/],
  ['external.h5', /dataset "\/model_weights\/dense\/dense\/kernel:0" refers to data in another file \("[^"]*outside\/raw\.bin"\)/],
  ['external.keras', /dataset "\/layers\/dense\/vars\/0" refers to data in another file/],
  ['bomb.h5', /dataset \/model_weights\/dense\/dense\/kernel:0 \(1073741824 bytes\) is too large for a \d+-byte file: it would inflate to more than 100× the whole file/],
  ['bomb.keras', /dataset \/layers\/dense\/vars\/0 \(1073741824 bytes\) is too large .* decompression bomb/],
  ['padbomb.h5', /dataset \/model_weights\/dense\/dense\/kernel:0 inflated \d+ bytes of the file to \d+ and declares 1073741824: more than 100× \(a decompression bomb\)/],
  ['fill.h5', /dataset \/model_weights\/dense\/dense\/kernel:0 \(1073741824 bytes\) is too large for a \d+-byte file: the file cannot hold its data/],
  ['shape.h5', /layer dense: kernel model_weights\/dense\/dense\/kernel:0 is stored as 63×47 but the layer's config says 64×48/],
  ['shape.keras', /layer dense: kernel layers\/dense\/vars\/0 is stored as 63×47 but the layer's config says 64×48/],
  ['string.h5', /layer dense: kernel dataset model_weights\/dense\/dense\/kernel:0 holds strings/],
  ['string.keras', /layer dense: kernel dataset layers\/dense\/vars\/0 holds strings/],
];

function hashes(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).sort().map((n) => [n, createHash('sha256').update(readFileSync(join(dir, n))).digest('hex')]));
}

interface Run { code: number | null; stderr: string; seconds: number; cpuSeconds: number; rssMb: number }

/**
 * The built CLI under GNU time, which writes the peak RSS (KiB) and the CPU seconds to its own
 * file. The 10 s bound is on CPU time (user + system): on a shared, loaded machine the wall
 * time of a one-second refusal varies tenfold; the spawn's timeout bounds the wall time.
 */
function run(args: string[]): Run {
  const stats = join(tempDir(), 'stats');
  const start = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-o', stats, '-f', '%M %U %S', process.execPath, 'dist/cli.js', ...args], { encoding: 'utf8', timeout: 120_000 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  assert.equal(r.error, undefined, `${args.join(' ')}: ${r.error} after ${seconds.toFixed(1)} s`);
  const [rss, user, system] = readFileSync(stats, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
  return { code: r.status, stderr: r.stderr, seconds, cpuSeconds: user + system, rssMb: rss / 1024 };
}

/** The hostile files (in `out/models`) and the fixtures they were made from. */
function makeHostile(): { out: string; fixtures: string } {
  const out = tempDir();
  const fixtures = makeFixtures('test/fixtures/make_keras.py');
  const made = spawnSync(PYTHON, ['test/robustness/make_hostile_hdf5.py', fixtures, out], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  return { out, fixtures };
}

test('hostile Keras HDF5 files: analyze and compress refuse each in one line, in 10 s and 512 MB, writing nothing', { timeout: 600_000 }, () => {
  assert.ok(existsSync(TIME), `${TIME} is missing (scripts/setup-system.sh installs the time package)`);
  const { out } = makeHostile();
  const models = join(out, 'models');
  const outside = join(out, 'outside');
  const before = hashes(models);
  const outsideBefore = hashes(outside);
  assert.deepEqual([...before.keys()].sort(), CASES.map(([n]) => n).sort(), 'the generator made every case');
  const measured: string[] = [];
  for (const [name, pattern] of CASES) {
    const file = join(models, name);
    for (const args of [['analyze', file], ['compress', file, '--ratio', '0.5']]) {
      const what = `${args[0]} ${name}`;
      const r = run(args);
      measured.push(`${what}: ${r.seconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(1)} s CPU, ${r.rssMb.toFixed(0)} MB peak RSS`);
      assert.equal(r.code, 2, `${what}: exit code (stderr: ${r.stderr})`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${what}: one line: ${r.stderr}`);
      assert.ok(lines[0].includes(file), `${what} names the input: ${lines[0]}`);
      assert.match(lines[0], pattern, what);
      if (/external|virtual|another file/.test(pattern.source)) assert.match(lines[0], OUTSIDE, what);
      assert.ok(r.cpuSeconds <= MAX_SECONDS, `${what}: ${r.cpuSeconds.toFixed(1)} s of CPU`);
      assert.ok(r.rssMb <= MAX_RSS_MB, `${what}: peak RSS ${r.rssMb.toFixed(0)} MB`);
      assert.deepEqual(hashes(models), before, `${what}: nothing written, the inputs unchanged`);
    }
  }
  assert.deepEqual(hashes(outside), outsideBefore, 'the files pointed at are unchanged');
  console.log(measured.join('\n'));
});

test('a gzip-filtered kernel inflated in several slabs is read whole: its singular values match LAPACK', { timeout: 300_000 }, () => {
  const { out } = makeHostile();
  const file = join(out, 'legit', 'gzip.h5');
  const r = spawnSync(process.execPath, ['dist/cli.js', 'analyze', file, '--json'], { encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  const dense = (JSON.parse(r.stdout) as { layers: { name: string; singularValues: number[] }[] }).layers.find((l) => l.name === 'dense');
  const expected = JSON.parse(readFileSync(join(out, 'legit', 'gzip.json'), 'utf8')) as number[];
  assert.equal(dense?.singularValues.length, expected.length);
  dense.singularValues.forEach((s, i) => assert.ok(Math.abs(s - expected[i]) <= 1e-4 * expected[0], `σ${i}: ${s} vs LAPACK's ${expected[i]}`));
});

test('language server: the hostile files end in error, each naming its file, and the good models beside them are analysed', { timeout: 300_000 }, async () => {
  const { out, fixtures } = makeHostile();
  const models = join(out, 'models');
  const good = ['mlp.h5', 'mlp.keras', 'wide.h5', 'functional.keras', 'zoo.h5'];
  for (const n of good) copyFileSync(join(fixtures, n), join(models, `good-${n}`));
  const lsp = await LspSession.start(models, {});
  try {
    const start = Date.now();
    let all: ModelSummary[] = [];
    while (Date.now() - start < 240_000) {
      all = await lsp.connection.sendRequest(modelsRequest, undefined);
      if (all.length === CASES.length + good.length && all.every((m) => m.state === 'ready' || m.state === 'error')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const seconds = (Date.now() - start) / 1000;
    const byUri = new Map(all.map((m) => [m.uri, m]));
    for (const n of good) assert.equal(byUri.get(fileUri(join(models, `good-${n}`)))?.state, 'ready', `good-${n}: ${JSON.stringify(byUri.get(fileUri(join(models, `good-${n}`))))}`);
    for (const [n] of CASES) assert.equal(byUri.get(fileUri(join(models, n)))?.state, 'error', `${n}: ${JSON.stringify(byUri.get(fileUri(join(models, n))))}`);
    console.log(`language server: ${all.length} models settled in ${seconds.toFixed(1)} s`);
  } finally {
    await lsp.stop();
  }
});
