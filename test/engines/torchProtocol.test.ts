import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameReader, parts, type ResultFrame } from '../../core/engines/torchProtocol.js';

function frame(header: object, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), payload]);
}

test('frames split at every possible boundary are reassembled exactly', () => {
  const s = Float64Array.from([3.5, -1e-300, 2 ** 60]);
  const u = Float32Array.from([1, 2, 3, 4, 5]);
  const payload = Buffer.concat([Buffer.from(u.buffer), Buffer.from(s.buffer)]);
  const stream = Buffer.concat([
    frame({ type: 'hello', device: 'CPU · torch 1.13', gpu: false, torch: '1.13.0' }, Buffer.alloc(0)),
    frame({ id: 7, type: 'result', parts: [['u', 'f32', 20], ['s', 'f64', 24]], bytes: 44 }, payload),
    frame({ id: 8, type: 'error', error: 'ValueError: bad' }, Buffer.alloc(0)),
  ]);
  for (let cut1 = 0; cut1 <= stream.length; cut1 += 3) {
    for (const cut2 of [cut1, Math.min(stream.length, cut1 + 50)]) {
      const r = new FrameReader();
      const frames = [stream.subarray(0, cut1), stream.subarray(cut1, cut2), stream.subarray(cut2)].flatMap((c) => r.push(c));
      assert.deepEqual(frames.map((f) => f.header.type), ['hello', 'result', 'error']);
      const p = parts(frames[1] as ResultFrame);
      assert.deepEqual(Array.from(p.get('u')!), Array.from(u));
      assert.deepEqual(Array.from(p.get('s')!), Array.from(s));
      assert.ok(p.get('s') instanceof Float64Array && p.get('u') instanceof Float32Array);
    }
  }
});
