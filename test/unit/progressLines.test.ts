// The CLI's progress on stderr when it is not a terminal: a line at least every period, with
// stage, share done, elapsed time and an estimate, also while no report arrives; none after end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { progressLines } from '../../cli/progressLines.js';
import { formatDuration } from '../../core/text/numbers.js';

function sink(isTTY: boolean): { out: { write(s: string): boolean; isTTY: boolean; columns: number }; text: () => string } {
  let text = '';
  return { out: { write: (s: string) => { text += s; return true; }, isTTY, columns: 60 }, text: () => text };
}

test('a log gets a line every period, with stage, share done, elapsed and time left; nothing after end', async () => {
  const s = sink(false);
  const p = progressLines({ out: s.out, periodMs: 40 });
  p.report(0.25, 'fine-tuning, step 250 of at most 1000');
  await sleep(100);
  p.end();
  const lines = s.text().trim().split('\n');
  assert.ok(lines.length >= 2, `expected periodic lines, got ${JSON.stringify(s.text())}`);
  assert.match(lines[0], /^reducible: fine-tuning, step 250 of at most 1000 — 25 % done, \d+ s elapsed, about \d+ s left$/);
  const after = s.text();
  await sleep(100);
  assert.equal(s.text(), after, 'no line after end()');
});

test('a job that ends within the period prints nothing to a log', async () => {
  const s = sink(false);
  const p = progressLines({ out: s.out, periodMs: 1000 });
  p.report(0.5, 'factorised dense_1');
  p.report(1, 'writing');
  p.end();
  assert.equal(s.text(), '');
});

test('a terminal gets one line rewritten in place, cut to its width, and cleared at the end', async () => {
  const s = sink(true);
  const p = progressLines({ out: s.out });
  p.report(0.5, 'calibration statistics and a label far too long for a sixty-column terminal');
  await sleep(250);
  p.end();
  const draws = s.text().split('\r').filter(Boolean);
  assert.ok(draws.length >= 2 && draws.every((d) => d.endsWith('\x1b[K') && !d.includes('\n')), JSON.stringify(s.text()));
  assert.ok(draws.slice(0, -1).every((d) => d.length - 3 <= 59));
  assert.equal(draws.at(-1), '\x1b[K');
});

test('durations read as a person reads them', () => {
  assert.equal(formatDuration(8_400), '8 s');
  assert.equal(formatDuration(125_000), '2 min 05 s');
  assert.equal(formatDuration(3_780_000), '1 h 03 min');
});
