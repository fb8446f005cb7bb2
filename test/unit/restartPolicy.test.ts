// The client's policy for a dead language server (client/restartPolicy.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CRASHED_RESTARTED, RestartPolicy, STOPPED } from '../../client/restartPolicy.js';

test('a dead server is restarted once, with a message; the second death leaves it stopped and says how to restart it', () => {
  const p = new RestartPolicy();
  assert.deepEqual(p.serverClosed(), { restart: true, message: 'Reducible language server crashed; restarted' });
  assert.deepEqual(p.serverClosed(), { restart: false, message: 'Reducible language server stopped; run Reducible: Restart Server' });
  assert.deepEqual(p.serverClosed(), { restart: false, message: STOPPED });
});

test('after Reducible: Restart Server the server gets its one automatic restart back', () => {
  const p = new RestartPolicy();
  p.serverClosed();
  p.serverClosed();
  p.reset();
  assert.deepEqual(p.serverClosed(), { restart: true, message: CRASHED_RESTARTED });
  assert.equal(p.serverClosed().restart, false);
});
