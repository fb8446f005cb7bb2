// How sizes, counts and percentages read everywhere (core/text/numbers.ts): one convention
// for the CLI, hovers, the outline and the panel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatCount, formatPercent } from '../../core/text/numbers.js';

test('formatBytes: binary units, three significant digits from KiB up', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1023), '1023 B');
  assert.equal(formatBytes(1024), '1.00 KiB');
  assert.equal(formatBytes(29.7 * 1024), '29.7 KiB');
  assert.equal(formatBytes(15e6), '14.3 MiB');
  assert.equal(formatBytes(1.5 * 2 ** 30), '1.50 GiB');
  assert.equal(formatBytes(3 * 2 ** 40), '3.00 TiB');
  assert.equal(formatBytes(-2048), '-2.00 KiB');
});

test('formatCount: exact below 10 000, then k, M, G', () => {
  assert.deepEqual([9999, 12_345, 1_250_000, 7e9].map(formatCount), ['9999', '12.3k', '1.25M', '7.00G']);
});

test('formatPercent: a fraction with a space before the sign', () => {
  assert.equal(formatPercent(0.4567), '45.7 %');
  assert.equal(formatPercent(0.99, 2), '99.00 %');
});
