// Byte-for-byte regression of `reducible compress`: fixed fixture models in every format,
// compressed by this checkout's built CLI (dist/cli.js) with plain SVD at a ratio, f16 and
// int8 factors, an --energy goal, whitened SVD on calibration inputs, a short fine-tuning and
// the ONNX re-layout (the list is CASES in harness.ts), must write files whose SHA-256 equal
// those in outputHashes.json, recorded by record.ts from an earlier commit (see
// `recordedFrom` there). A refactor must leave every hash as it is; a case that fails names
// itself and each file that differs, and its output folder is kept for a look.
//
// What is hashed: every file the run writes into its own empty output folder (the model and
// its shards, and `<out>.report.json` without its paths and engine description; see
// normaliseReport), with the clock's bytes zeroed in Keras files (normaliseBytes). The CLI
// runs with --engine embedded, since `auto` takes PyTorch where there is a GPU. The fixtures
// come from the committed generators (test/fixtures/make_*.py, tfjsGraphModels.ts) and the
// bundled examples; their own hashes are recorded too, so a changed fixture is reported as
// such rather than as a compressor regression.
//
// REDUCIBLE_REGRESSION_ROOT=/path/to/checkout runs that checkout's CLI, generators and
// examples instead of this one's (it must be built).
// After an intended change of output: npx tsx test/regression/record.ts (its header says how).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { buildFixtures, CASES, HASHES, HERE_ROOT, inputHashes, listFiles, runCase, tempDir, type Fixtures, type Recorded } from './harness.js';

const root = resolve(process.env.REDUCIBLE_REGRESSION_ROOT || HERE_ROOT);
const recorded = JSON.parse(readFileSync(HASHES, 'utf8')) as Recorded;

/** `a` against `b`, one line per file that differs, is missing or is extra. */
function differences(expected: Record<string, string>, got: Record<string, string>): string[] {
  const names = [...new Set([...Object.keys(expected), ...Object.keys(got)])].sort();
  return names.flatMap((f) => {
    if (expected[f] === got[f]) return [];
    if (got[f] === undefined) return [`${f}: not written (expected ${expected[f]})`];
    if (expected[f] === undefined) return [`${f}: written, not expected (${got[f]})`];
    return [`${f}: ${got[f]}, expected ${expected[f]}`];
  });
}

test(`compress writes the bytes recorded from ${recorded.recordedFrom.slice(0, 7)} (test/regression/outputHashes.json)`, { concurrency: Math.min(2, availableParallelism()) }, async (t) => {
  assert.ok(existsSync(join(root, 'dist/cli.js')), `${root}/dist/cli.js is missing: npm run build`);
  const work = tempDir('reducible-regression-');
  const fixtureDir = join(work, 'fixtures');
  let fixtures: Fixtures | undefined;
  let listing: string[] = [];
  let failures = 0;

  await t.test('the fixtures are those the hashes were recorded on', async () => {
    const built = await buildFixtures(root, fixtureDir);
    const diff = differences(recorded.inputs, inputHashes(built));
    assert.deepEqual(diff, [], `the fixture generators or examples changed, so no case can be compared; if that was intended, re-record with test/regression/record.ts:\n  ${diff.join('\n  ')}`);
    fixtures = built;
    listing = listFiles(fixtureDir).sort();
  });
  const skip = fixtures === undefined && 'the fixtures are not those the hashes were recorded on';

  await t.test('every case has recorded hashes and every recorded case still runs', () => {
    assert.deepEqual(CASES.map((c) => c.name).sort(), Object.keys(recorded.cases).sort());
  });

  await Promise.all(CASES.map((c) => t.test(c.name, { skip }, async () => {
    const expected = recorded.cases[c.name]?.files;
    assert.ok(expected, `case "${c.name}": nothing recorded for it in outputHashes.json`);
    try {
      const got = await runCase(root, fixtures!, c, work);
      const diff = differences(expected, got.files);
      assert.deepEqual(diff, [], `case "${c.name}" (${recorded.cases[c.name].command}) wrote other bytes than ${recorded.recordedFrom.slice(0, 7)} did (outputs kept under ${work}):\n  ${diff.join('\n  ')}`);
    } catch (e) {
      failures++;
      throw e;
    }
  })));

  // compress only reads its input: nothing in the fixtures' folders changed or appeared.
  await t.test('the fixtures are untouched after every case', { skip }, () => {
    assert.deepEqual(differences(recorded.inputs, inputHashes(fixtures!)), []);
    assert.deepEqual(listFiles(fixtureDir).sort(), listing);
  });

  if (failures === 0) rmSync(work, { recursive: true, force: true });
});
