// Hostile files of issue 20 (second round), items 2, 8 and 10, made by make_hostile_archives.py:
// PyTorch zips and Keras 3 archives whose deflated entries inflate far past what they declare,
// safetensors files with what the format forbids (non-string __metadata__ values, gaps in the
// data region, trailing bytes; in a single file and in one shard of an index), and faults on
// the output side (an -o ending that is not what is written, a full disk). Through the built
// CLI, each is refused by `analyze` and `compress` with exit 2 and one line naming the file,
// within 10 s and 512 MB of peak RSS, with nothing written and the original unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeFixtures, tempDir } from '../helpers/cli.js';

const TIME = '/usr/bin/time';
const MAX_SECONDS = 10;
const MAX_RSS_KB = 512 * 1024;

const dir = makeFixtures('test/robustness/make_hostile_archives.py');

interface Run { code: number | null; stderr: string; seconds: number; rssKb: number }

/** The CLI under /usr/bin/time: exit code, stderr, wall time, peak RSS. */
function reducible(args: string[]): Run {
  const measure = join(tempDir(), 'time');
  const started = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-o', measure, '-f', '%M', process.execPath, 'dist/cli.js', ...args], { encoding: 'utf8', timeout: 60_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  assert.equal(r.error, undefined, `${args.join(' ')}: ${r.error}`);
  const rssKb = Number(readFileSync(measure, 'utf8').trim().split('\n').at(-1));
  return { code: r.status, stderr: r.stderr, seconds, rssKb };
}

/** Every file under `root`, with its content hash. */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(p, createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(root);
  return out;
}

/** Asserts a one-line exit-2 refusal naming `named` and matching `pattern`, in time and memory, leaving `root` as it was. */
function assertRefused(args: string[], named: string, pattern: RegExp, root = dir): void {
  const before = snapshot(root);
  const r = reducible(args);
  const what = args.join(' ');
  assert.equal(r.code, 2, `${what}: exit ${r.code}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${what}: one line: ${r.stderr}`);
  assert.ok(lines[0].includes(named), `${what}: names ${named}: ${lines[0]}`);
  assert.match(lines[0], pattern, what);
  assert.ok(r.seconds <= MAX_SECONDS, `${what}: ${r.seconds.toFixed(1)} s`);
  assert.ok(r.rssKb <= MAX_RSS_KB, `${what}: peak RSS ${(r.rssKb / 1024).toFixed(0)} MB`);
  assert.deepEqual(snapshot(root), before, `${what}: nothing written, originals unchanged`);
}

const at = (name: string): string => join(dir, name);

/** [input, the file the refusal names, what it says]. */
const CASES: [string, string, RegExp][] = [
  ['stream_bomb.pt', 'stream_bomb.pt', /zip entry "archive\/data\/0" inflates past its declared 49152 bytes/],
  ['entry_bomb.pt', 'entry_bomb.pt', /zip entry "archive\/data\/0" declares 1073741824 bytes, but storage 0 of tensor fc\.weight holds 49152|zip bomb/],
  ['pickle_bomb.pt', 'pickle_bomb.pt', /zip entry "archive\/data\.pkl" inflates past its declared \d+ bytes/],
  ['pickle_huge.pt', 'pickle_huge.pt', /archive\/data\.pkl" (?:declares 1073741824 bytes|is 1073741824 bytes, over)/],
  ['stream_short.pt', 'stream_short.pt', /zip entry "archive\/data\/0" inflates to 1000 bytes, not the declared 49152/],
  ['keras_weights_bomb.keras', 'keras_weights_bomb.keras', /model\.weights\.h5 declares 1073741824 bytes from \d+ compressed, over 100× \(a decompression bomb\)/],
  ['keras_stream_bomb.keras', 'keras_stream_bomb.keras', /zip entry "model\.weights\.h5" inflates past its declared 4096 bytes/],
  ['keras_asset_bomb.keras', 'keras_asset_bomb.keras', /entries besides the weights declare \d+ bytes in all, over the 268435456-byte limit/],
  ['metadata_number.safetensors', 'metadata_number.safetensors', /__metadata__ value of "epoch" is a number, not a string/],
  ['metadata_object.safetensors', 'metadata_object.safetensors', /__metadata__ value of "config" is an object, not a string/],
  ['metadata_null_value.safetensors', 'metadata_null_value.safetensors', /__metadata__ value of "format" is null, not a string/],
  ['metadata_array.safetensors', 'metadata_array.safetensors', /__metadata__ is not an object of strings/],
  ['gap.safetensors', 'gap.safetensors', /data region has a gap: file bytes \d+\.\.\d+ before tensor b\.weight/],
  ['gap_start.safetensors', 'gap_start.safetensors', /data region has a gap: file bytes \d+\.\.\d+ before tensor a\.weight/],
  ['trailing.safetensors', 'trailing.safetensors', /100 trailing bytes at file offsets \d+\.\.\d+ after the last tensor/],
  // A shard is held to the same rules; the refusal names the shard.
  ['sharded_trailing/model.safetensors.index.json', 'sharded_trailing/model-00002-of-00002.safetensors', /24 trailing bytes at file offsets/],
  ['sharded_metadata/model.safetensors.index.json', 'sharded_metadata/model-00002-of-00002.safetensors', /__metadata__ value of "step" is a number/],
];

for (const [input, named, pattern] of CASES) {
  test(`${input}: analyze and compress refuse it in one line, in bounded time and memory, writing nothing`, () => {
    assertRefused(['analyze', at(input)], at(named), pattern);
    assertRefused(['compress', at(input), '--ratio', '0.5', '--engine', 'wasm'], at(named), pattern);
  });
}

test('an -o whose ending is not what the format writes is refused before any work (a PyTorch checkpoint is written as safetensors)', () => {
  const out = at('x.pt');
  assertRefused(['compress', at('valid.pt'), '--ratio', '0.5', '--engine', 'wasm', '-o', out], out, /output name does not end in \.safetensors, but a pytorch model is written as a \.safetensors file/);
  // A single safetensors file is not written under an index's name.
  const index = at('y.safetensors.index.json');
  assertRefused(['compress', at('valid.safetensors'), '--ratio', '0.5', '--engine', 'wasm', '-o', index], index, /output name does not end in \.safetensors, but a safetensors model/);
});

const canMount = process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
test('a full disk is bad output: exit 2, one line naming the output, nothing left on the disk', { skip: canMount ? false : 'needs root to mount a small tmpfs' }, (t) => {
  const small = join(tempDir(), 'small');
  mkdirSync(small);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small]);
  if (mounted.status !== 0) { t.skip(`mount refused: ${mounted.stderr}`); return; }
  try {
    const out = join(small, 'out.safetensors');
    assertRefused(['compress', at('valid.pt'), '--ratio', '0.9', '--allow-deep-cuts', '--engine', 'wasm', '-o', out], out, /: cannot write \((?:ENOSPC|EDQUOT)\)/);
    assert.deepEqual(readdirSync(small), [], 'no partial output or temporary on the full disk');
    assert.equal(dirname(out), small);
  } finally {
    spawnSync('umount', [small]);
  }
});
