import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { LAYER_LANES, lanesFor, mapInLanes } from '../../core/lanes.js';

test('mapInLanes: results in input order, never more than `lanes` in flight', async () => {
  let inFlight = 0, most = 0;
  const out = await mapInLanes([5, 1, 4, 2, 3], async (x, i) => {
    most = Math.max(most, ++inFlight);
    for (let t = 0; t < x; t++) await tick();
    inFlight--;
    return x * 10 + i;
  }, 2);
  assert.deepEqual(out, [50, 11, 42, 23, 34]);
  assert.equal(most, 2);
});

test('mapInLanes: the first failure rejects and no later item starts', async () => {
  const started: number[] = [];
  await assert.rejects(mapInLanes([0, 1, 2, 3, 4, 5], async (x) => {
    started.push(x);
    await tick();
    if (x === 1) throw new Error('layer 1 is corrupt');
    await tick();
    return x;
  }, 2), /layer 1 is corrupt/);
  await tick(); await tick(); await tick();
  // Item 1 fails while item 0 is still running; item 0's lane then stops instead of taking item 2.
  assert.deepEqual(started, [0, 1]);
});

test('lanesFor: one lane once any layer reaches 2²² elements, the default below', () => {
  const layer = (rows: number, cols: number) => ({ matrix: { rows, cols } });
  assert.equal(lanesFor([layer(784, 512), layer(512, 256)]), LAYER_LANES);
  assert.equal(lanesFor([layer(784, 512), layer(2048, 2048)]), 1);
  assert.equal(lanesFor([layer(2048, 2047)]), LAYER_LANES);
  assert.equal(lanesFor([]), LAYER_LANES);
});
