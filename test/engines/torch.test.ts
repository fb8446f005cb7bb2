// The PyTorch worker engine on CPU (Debian python3-torch), checked against the embedded engine.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedEngine } from '../../core/engines/embedded.js';
import { TorchEngine } from '../../core/engines/torch.js';
import { CancelledError, InputError } from '../../core/types.js';
import { tempDir } from '../helpers/cli.js';
import { PYTHON } from '../helpers/python.js';
import { lowRankMatrix, randomMatrix } from '../helpers/random.js';
import { assertDescending, assertOrthonormal, reconstructionError } from './svdCheck.js';

const geometric = (k: number, ratio: number): number[] => Array.from({ length: k }, (_, i) => ratio ** i);

let torch: TorchEngine;
const embedded = new EmbeddedEngine(2);
before(async () => { torch = await TorchEngine.start({ python: PYTHON }); });
after(async () => { await Promise.all([torch.close(), embedded.close()]); });

const matrices = [
  { name: 'random square', data: randomMatrix(150, 150, 11), rows: 150, cols: 150 },
  { name: 'tall decaying', data: lowRankMatrix(400, 120, geometric(120, 0.93), 12), rows: 400, cols: 120 },
  { name: 'wide low-rank', data: lowRankMatrix(90, 333, geometric(60, 0.9), 13), rows: 90, cols: 333 },
  { name: 'single row', data: randomMatrix(1, 40, 14), rows: 1, cols: 40 },
];

test('describes the device it runs on', () => {
  assert.match(torch.description, /^CPU · torch \d+\.\d+$/);
  assert.equal(torch.gpu, false);
});

for (const m of matrices) {
  test(`spectrum equals the embedded engine: ${m.name} ${m.rows}×${m.cols}`, async () => {
    const [ours, ref] = await Promise.all([torch.spectrum(m), embedded.spectrum(m)]);
    assert.equal(ours.length, Math.min(m.rows, m.cols));
    assertDescending(ours);
    for (let i = 0; i < ref.length; i++) assert.ok(Math.abs(ours[i] - ref[i]) <= 1e-4 * ref[0], `σ[${i}] ${ours[i]} vs ${ref[i]}`);
  });
}

for (const m of matrices.slice(0, 3)) {
  // Small ranks take the randomized route on both engines, large ones the exact route.
  for (const rank of [5, Math.min(m.rows, m.cols) >> 1]) {
    test(`truncatedSvd error equals the embedded engine: ${m.name} at rank ${rank}`, async () => {
      const [ours, ref] = await Promise.all([torch.truncatedSvd(m, rank), embedded.truncatedSvd(m, rank)]);
      assert.deepEqual([ours.u.length, ours.s.length, ours.vt.length], [m.rows * rank, rank, rank * m.cols]);
      assertDescending(ours.s);
      assertOrthonormal(ours, m.rows, m.cols);
      const e1 = reconstructionError(m.data, m.rows, m.cols, ours);
      const e2 = reconstructionError(m.data, m.rows, m.cols, ref);
      assert.ok(Math.abs(e1 - e2) <= 1e-3 * e2, `torch ${e1} vs embedded ${e2}`);
    });
  }
}

test('rank 0 and full rank round-trip; a bad rank is refused before sending', async () => {
  const m = matrices[1];
  const none = await torch.truncatedSvd(m, 0);
  assert.deepEqual([none.u.length, none.s.length, none.vt.length], [0, 0, 0]);
  const full = await torch.truncatedSvd(m, 120);
  assert.ok(reconstructionError(m.data, m.rows, m.cols, full) < 1e-5);
  await assert.rejects(torch.truncatedSvd(m, 121), /rank 121 is outside \[0, 120\]/);
});

test('many concurrent calls are pipelined through one worker and each gets its own answer', async () => {
  const pid = torch.workerPid;
  const diag = (k: number): Float32Array => {
    const d = new Float32Array(16);
    for (let i = 0; i < 4; i++) d[i * 4 + i] = k + i;
    return d;
  };
  const results = await Promise.all(Array.from({ length: 20 }, (_, k) => torch.spectrum({ data: diag(k), rows: 4, cols: 4 })));
  results.forEach((s, k) => assert.deepEqual(Array.from(s), [k + 3, k + 2, k + 1, k]));
  assert.equal(torch.workerPid, pid);
});

/** Waits for a process to be gone (a killed process may take a moment to be reaped). */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    try { process.kill(pid, 0); } catch { return true; }
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

const big = { data: randomMatrix(2500, 2500, 15), rows: 2500, cols: 2500 };
const tiny = { data: randomMatrix(3, 3, 16), rows: 3, cols: 3 };

test('aborting mid-job kills the worker; the next call starts a fresh one', async () => {
  const ac = new AbortController();
  const pid = torch.workerPid!;
  // The big job is queued behind the tiny one, so it is in flight once the tiny one answers.
  const first = torch.spectrum(tiny, { signal: ac.signal });
  const second = torch.spectrum(big, { signal: ac.signal });
  await first;
  ac.abort();
  await assert.rejects(second, CancelledError);
  assert.ok(await gone(pid), 'worker process still running after abort');
  const s = await torch.spectrum(tiny);
  assert.equal(s.length, 3);
  assert.notEqual(torch.workerPid, pid);
});

test('a worker killed mid-stream fails the job in flight with a clear error', async () => {
  const first = torch.spectrum(tiny);
  const second = torch.spectrum(big);
  await first;
  process.kill(torch.workerPid!, 'SIGKILL');
  await assert.rejects(second, /^Error: PyTorch worker \(.*\) exited unexpectedly \(signal SIGKILL\) with 1 job\(s\) in flight$/);
});

test('a missing interpreter is a one-line InputError', async () => {
  await assert.rejects(TorchEngine.start({ python: '/nonexistent/python3' }),
    (e: Error) => e instanceof InputError && /^Python interpreter "\/nonexistent\/python3" was not found; pass --python or set REDUCIBLE_PYTHON$/.test(e.message));
});

test('a Python without torch is a one-line InputError', async (t) => {
  const candidates = ['/root/.pyenv/shims/python3', 'python3', 'python'];
  const bare = candidates.find((p) => {
    const r = spawnSync(p, ['-c', 'import numpy, sys; import torch']);
    return r.status !== null && r.status !== 0 && !r.error && /No module named 'torch'/.test(r.stderr.toString());
  });
  if (!bare) { t.skip('no Python with numpy but without torch on this machine'); return; }
  await assert.rejects(TorchEngine.start({ python: bare }),
    (e: Error) => e instanceof InputError && /cannot import torch \(No module named 'torch'\)$/.test(e.message) && !e.message.includes('\n'));
});

test('a torch that is too old is refused by name', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'torch'));
  writeFileSync(join(dir, 'torch', '__init__.py'), '__version__ = "1.4.0"\n');
  const wrapper = join(dir, 'python-old-torch');
  writeFileSync(wrapper, `#!/bin/sh\nPYTHONPATH='${dir}' exec ${PYTHON} "$@"\n`);
  chmodSync(wrapper, 0o755);
  await assert.rejects(TorchEngine.start({ python: wrapper }), /torch 1\.4\.0 is too old \(needs 1\.9\+\)$/);
});

test('close() lets the jobs in flight finish, then the worker exits', async () => {
  const engine = await TorchEngine.start({ python: PYTHON });
  const pid = engine.workerPid!;
  const jobs = matrices.map((m) => engine.spectrum(m));
  await engine.close();
  const spectra = await Promise.all(jobs);
  spectra.forEach((s, i) => assert.equal(s.length, Math.min(matrices[i].rows, matrices[i].cols)));
  assert.ok(await gone(pid));
});

test('f32 big products (the consumer-GPU and MPS path) keep errors within 1e-3 of the embedded engine', async () => {
  const f32 = await TorchEngine.start({ python: PYTHON, precision: 'f32' });
  try {
    for (const m of matrices.slice(0, 3)) {
      const [ours, ref] = await Promise.all([f32.truncatedSvd(m, 5), embedded.truncatedSvd(m, 5)]);
      assertOrthonormal(ours, m.rows, m.cols);
      const e1 = reconstructionError(m.data, m.rows, m.cols, ours);
      const e2 = reconstructionError(m.data, m.rows, m.cols, ref);
      assert.ok(Math.abs(e1 - e2) <= 1e-3 * e2, `${m.name}: torch f32 ${e1} vs embedded ${e2}`);
    }
  } finally {
    await f32.close();
  }
});
