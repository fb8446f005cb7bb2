// Checks collected calibration statistics against a reference computed another way.
import assert from 'node:assert/strict';
import type { InputMoments } from '../../core/compress/moments.js';

/** `got`'s C equals `want` to 1e-5 of its largest entry (f32 activations summed in f64); `samples`, where given, too. */
export function assertMomentsClose(got: InputMoments | undefined, want: Float64Array, what: string, samples?: number): void {
  assert.ok(got, `${what}: no statistics`);
  if (samples !== undefined) assert.equal(got.samples, samples, what);
  assert.equal(got.c.length, want.length, what);
  const scale = Math.max(...want.map(Math.abs));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got.c[i] - want[i]));
  assert.ok(worst <= 1e-5 * scale, `${what}: max |ΔC| ${worst} vs max |C| ${scale}`);
}
