// The CI-sized fuzz run of one format (bench/robustness/run.ts is the long run), one test file
// per format so the runner spreads them over the cores: 4 000 mutated inputs, seeded from the
// real fixtures. (20 000 each took 18 minutes of the suite at load 7, the Keras readers 14 of
// them, and CI has 90 minutes on 2 cores; depth is the long run's job, which has run 310 000.) Each must read fully or be refused with a one-line InputError naming the file,
// within 6 s (a read takes milliseconds; a hang never ends, and on CI's 2 cores another test file
// runs beside this one, so a tighter bound catches the machine's load, not hangs: 2 s saw reads
// of a respawned HDF5 thread pass it at load 9), without the process's memory running away, and
// without leaving files behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeSeeds, type FuzzFormat } from './seeds.js';
import { fuzzFormat, type Failure } from './harness.js';

export const CI_INPUTS = 4_000;

/** A failure as a line that replays it (seed, input index, mutation). */
const replay = (f: Failure): string => `${f.kind} on ${f.seed} #${f.index} ${JSON.stringify(f.mutation)}: ${f.message.slice(0, 400)}`;

export function fuzzTest(format: FuzzFormat): void {
  test(`${format}: ${CI_INPUTS} mutated files are each read or refused with one line naming the file, none hangs`, async () => {
    const c = await fuzzFormat(format, await makeSeeds([format]), { inputs: CI_INPUTS, seed: 20261125, timeoutMs: 6000 });
    assert.deepEqual(c.failures.map(replay), []);
    assert.equal(c.inputs, CI_INPUTS);
    // Both outcomes occur: the mutations neither all miss nor all break the structure.
    assert.ok(c.ok > CI_INPUTS / 100 && c.refused > CI_INPUTS / 10, `ok ${c.ok}, refused ${c.refused}`);
  });
}
