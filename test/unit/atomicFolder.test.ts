// An output folder (AtomicOutput.folder, a Hugging Face folder's output): staged whole beside
// its final path, so it appears only at commit, and nothing of it stays after an abort.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AtomicOutput, removeStaleTemporaries } from '../../core/io/atomicOutput.js';
import { InputError } from '../../core/types.js';
import { tempDir } from '../helpers/cli.js';

async function write(sink: AtomicOutput, path: string, text: string): Promise<void> {
  await (await sink.file(path)).write(new TextEncoder().encode(text));
}

test('a folder appears only at commit, and an abort leaves nothing beside it', async () => {
  const dir = tempDir(), out = join(dir, 'm.reduced');
  const aborted = new AtomicOutput([]);
  await aborted.folder(out);
  await write(aborted, join(out, 'config.json'), '{}');
  assert.ok(!existsSync(out));
  await aborted.abort();
  assert.deepEqual(readdirSync(dir), []);
  const sink = new AtomicOutput([]);
  await sink.folder(out);
  await write(sink, join(out, 'config.json'), '{}');
  await write(sink, `${out}.report.json`, '{}');
  assert.deepEqual(await sink.commit(), [join(out, 'config.json'), `${out}.report.json`]);
  assert.deepEqual(readdirSync(dir).sort(), ['m.reduced', 'm.reduced.report.json']);
  assert.deepEqual(readdirSync(out), ['config.json']);
});

test('with force an existing folder is replaced whole; without, refused; a folder holding an input is refused', async () => {
  const dir = tempDir(), out = join(dir, 'out');
  mkdirSync(out);
  writeFileSync(join(out, 'old.txt'), 'old');
  await assert.rejects(new AtomicOutput([]).folder(out), (e: unknown) => e instanceof InputError && e.code === 'output-exists');
  const sink = new AtomicOutput([], true);
  await sink.folder(out);
  await write(sink, join(out, 'new.txt'), 'new');
  await sink.commit();
  assert.deepEqual(readdirSync(out), ['new.txt']);
  assert.equal(readFileSync(join(out, 'new.txt'), 'utf8'), 'new');
  assert.deepEqual(readdirSync(dir), ['out']);
  await assert.rejects(new AtomicOutput([join(out, 'new.txt')], true).folder(dir), /output folder would hold or replace an input file/);
});

test('a staged folder a killed run left is removed when its output is written again; other dot-folders are not', async () => {
  const dir = tempDir(), out = join(dir, 'm.reduced');
  for (const name of ['.m.reduced.0badf00d.tmp', '.m.reduced.git']) {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'model.safetensors'), 'x');
    utimesSync(join(dir, name), new Date(0), new Date(0));
  }
  await removeStaleTemporaries(out, Date.now());
  assert.deepEqual(readdirSync(dir), ['.m.reduced.git']);
});
