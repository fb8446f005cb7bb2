import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { withLayerBuffer } from '../../core/io/layerBuffers.js';

const bufferOf = (elements: number): Promise<ArrayBufferLike> => withLayerBuffer(async (take) => take(elements).buffer);

test('withLayerBuffer: one shared buffer serves layer after layer, a bigger layer replaces it', async () => {
  const first = await bufferOf(1000);
  assert.ok(first instanceof SharedArrayBuffer);
  assert.equal(await bufferOf(1000), first);
  assert.equal(await bufferOf(600), first, 'a smaller layer fits the same buffer');
  const bigger = await bufferOf(5000);
  assert.notEqual(bigger, first);
  assert.equal(bigger.byteLength, 4 * 5000);
  assert.equal(await bufferOf(1000), bigger, 'the smaller buffer was dropped, not kept beside the bigger one');
});

test('withLayerBuffer: layers in flight together get buffers of their own, each exactly the size asked', async () => {
  const seen: Float32Array[] = [];
  await Promise.all([300, 200].map((n) => withLayerBuffer(async (take) => {
    const a = take(n);
    seen.push(a);
    await sleep(5);
    assert.equal(a.length, n);
  })));
  assert.notEqual(seen[0].buffer, seen[1].buffer);
});

test('withLayerBuffer: one buffer per call; a call that never takes one reserves nothing', async () => {
  await assert.rejects(withLayerBuffer(async (take) => { take(10); take(10); }), /one buffer per call/);
  assert.equal(await withLayerBuffer(async () => 42), 42);
});

test('withLayerBuffer: free buffers are dropped a second after the last layer', async () => {
  const before = await bufferOf(800);
  await sleep(1200);
  assert.notEqual(await bufferOf(800), before);
});
