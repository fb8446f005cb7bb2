// The truncated-SVD kernels behind the exact route, each against numpy/LAPACK: inverse
// iteration on a tridiagonal (vs numpy.linalg.eigh), and the Gram reduction's eigenvectors
// and other side (reflector back-transformation, SIMD products, orthonormalisation) vs
// numpy.linalg.svd's singular vectors — on one thread and with a helper thread.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tridiagonalEigenvalues } from '../../core/linalg/symmetricEigen.js';
import { tridiagonalEigenvectors } from '../../core/linalg/tridiagonalVectors.js';
import { GramReduction, type Helpers } from '../../core/linalg/wasmSpectra.js';
import { HelperThreads } from '../../core/linalg/helperThreads.js';
import { python } from '../helpers/python.js';
import { lowRankMatrix, randomMatrix, rng } from '../helpers/random.js';

const f64 = (b: Buffer): Float64Array => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));

/** numpy.linalg.eigh of the tridiagonal (d, e): eigenvalues descending, then their unit eigenvectors (one per row). */
function numpyTridiagonalEigh(d: Float64Array, e: Float64Array): { values: Float64Array; vectors: Float64Array } {
  const n = d.length;
  const input = new Float64Array(2 * n);
  input.set(d);
  input.set(e.subarray(0, n - 1), n);
  const out = f64(python(
    'import sys,numpy as np;n=int(sys.argv[1]);x=np.frombuffer(sys.stdin.buffer.read(),dtype="<f8");T=np.diag(x[:n])+np.diag(x[n:2*n-1],1)+np.diag(x[n:2*n-1],-1);w,v=np.linalg.eigh(T);o=np.argsort(-w);sys.stdout.buffer.write(np.concatenate([w[o],v[:,o].T.ravel()]).astype("<f8").tobytes())',
    new Uint8Array(input.buffer), [String(n)],
  ));
  return { values: out.subarray(0, n), vectors: out.subarray(n) };
}

/** numpy.linalg.svd of a row-major f32 matrix (in f64): σ, U (k columns, one vector per row) and Vᵀ (k rows). */
function numpySvd(a: Float32Array, m: number, n: number, k: number): { s: Float64Array; u: Float64Array; vt: Float64Array } {
  const out = f64(python(
    'import sys,numpy as np;m,n,k=map(int,sys.argv[1:4]);a=np.frombuffer(sys.stdin.buffer.read(),dtype="<f4").reshape(m,n).astype(np.float64);u,s,vt=np.linalg.svd(a,full_matrices=False);sys.stdout.buffer.write(np.concatenate([s[:k],u[:,:k].T.ravel(),vt[:k].ravel()]).astype("<f8").tobytes())',
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength), [String(m), String(n), String(k)],
  ));
  return { s: out.subarray(0, k), u: out.subarray(k, k + k * m), vt: out.subarray(k + k * m) };
}

function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
}

/** Each vector agrees with the reference up to sign: |⟨x, y⟩| = 1 for unit vectors. */
function assertSameDirections(ours: Float64Array, ref: Float64Array, len: number, count: number, tol: number, what: string): void {
  for (let c = 0; c < count; c++) {
    const x = ours.subarray(c * len, (c + 1) * len), y = ref.subarray(c * len, (c + 1) * len);
    assert.ok(Math.abs(Math.abs(dot(x, y)) - 1) <= tol, `${what} ${c}: |⟨ours, numpy⟩| = ${Math.abs(dot(x, y))}`);
  }
}

function assertOrthonormalSet(v: Float64Array, len: number, count: number, tol: number): void {
  for (let c = 0; c < count; c++) for (let d = 0; d <= c; d++) {
    const g = dot(v.subarray(c * len, (c + 1) * len), v.subarray(d * len, (d + 1) * len));
    assert.ok(Math.abs(g - (c === d ? 1 : 0)) <= tol, `⟨v${c}, v${d}⟩ = ${g}`);
  }
}

describe('tridiagonalEigenvectors (inverse iteration)', () => {
  test('random tridiagonal: the vectors numpy.linalg.eigh gives, up to sign', () => {
    const r = rng(1);
    const n = 200;
    const d = Float64Array.from({ length: n }, () => r() * 4 - 2);
    const e = Float64Array.from({ length: n }, () => r() * 2 - 1);
    const ref = numpyTridiagonalEigh(d, e);
    const values = tridiagonalEigenvalues(d, e).sort().reverse();
    for (let i = 0; i < n; i++) assert.ok(Math.abs(values[i] - ref.values[i]) <= 1e-12 * 4, `λ${i}`);
    const k = 60;
    const x = tridiagonalEigenvectors(d, e, values.subarray(0, k));
    assertSameDirections(x, ref.vectors, n, k, 1e-8, 'vector');
  });

  test('repeated and zero eigenvalues (split matrix): orthonormal vectors with T·x = λ·x', () => {
    // Three copies of the same 3×3 block and a zero block: every eigenvalue has multiplicity ≥ 3.
    const n = 12;
    const d = new Float64Array(n), e = new Float64Array(n);
    for (let b = 0; b < 3; b++) { d.set([2, 1, 3], 3 * b); e.set([0.5, 0.25, 0], 3 * b); }
    const values = tridiagonalEigenvalues(d, e).sort().reverse();
    const ref = numpyTridiagonalEigh(d, e);
    for (let i = 0; i < n; i++) assert.ok(Math.abs(values[i] - ref.values[i]) <= 1e-13 * 4);
    const x = tridiagonalEigenvectors(d, e, values);
    assertOrthonormalSet(x, n, n, 1e-12);
    for (let c = 0; c < n; c++) {
      for (let i = 0; i < n; i++) {
        const tx = d[i] * x[c * n + i] + (i > 0 ? e[i - 1] * x[c * n + i - 1] : 0) + (i < n - 1 ? e[i] * x[c * n + i + 1] : 0);
        assert.ok(Math.abs(tx - values[c] * x[c * n + i]) <= 1e-12 * 4, `residual of vector ${c}`);
      }
    }
  });
});

describe('GramReduction: singular vectors from the WebAssembly kernels', () => {
  const pool = new HelperThreads(new URL('../../dist/worker.js', import.meta.url));
  after(() => pool.close());
  const geometric = (k: number, ratio: number): number[] => Array.from({ length: k }, (_, i) => ratio ** i);
  const cases = [
    { name: 'tall (Gram AᵀA)', a: lowRankMatrix(300, 170, geometric(170, 0.97), 2), m: 300, n: 170 },
    { name: 'wide (Gram AAᵀ)', a: lowRankMatrix(150, 410, geometric(150, 0.97), 3), m: 150, n: 410 },
    { name: 'square, odd side', a: randomMatrix(257, 257, 4), m: 257, n: 257 },
  ];
  for (const helpers of [undefined, 'helper'] as const) {
    for (const { name, a, m, n } of cases) {
      test(`${name} ${m}×${n}${helpers ? ', with a helper thread' : ''}: top singular vectors as numpy.linalg.svd`, () => {
        const k = 25;
        const ref = numpySvd(a, m, n, k);
        const h: Helpers | undefined = helpers ? pool.take(1) : undefined;
        const r = new GramReduction(a, m, n, h, k);
        try {
          const values = tridiagonalEigenvalues(r.d, r.e).sort().reverse().subarray(0, k);
          for (let i = 0; i < k; i++) assert.ok(Math.abs(Math.sqrt(values[i]) - ref.s[i]) <= 1e-6 * ref.s[0], `σ${i}`);
          const side = r.eigenvectors(tridiagonalEigenvectors(r.d, r.e, values), k);
          const other = r.otherSide(side, k, Math.random);
          const [v, u] = n <= m ? [side, other] : [other, side];
          assertOrthonormalSet(v, n, k, 1e-10);
          assertOrthonormalSet(u, m, k, 1e-10);
          assertSameDirections(v, ref.vt, n, k, 1e-6, 'right singular vector');
          assertSameDirections(u, ref.u, m, k, 1e-6, 'left singular vector');
        } finally {
          r.close();
        }
      });
    }
  }

  test('otherSide completes the basis where the images vanish (rank-deficient input)', () => {
    const m = 80, n = 60, k = 10;
    const a = lowRankMatrix(m, n, [3, 2, 1], 5);
    const r = new GramReduction(a, m, n, undefined, k);
    try {
      const values = tridiagonalEigenvalues(r.d, r.e).sort().reverse().subarray(0, k);
      const side = r.eigenvectors(tridiagonalEigenvectors(r.d, r.e, values), k);
      assertOrthonormalSet(side, n, k, 1e-10);
      const ref = numpySvd(a, m, n, 3);
      const u = r.otherSide(side, k, Math.random);
      assertOrthonormalSet(u, m, k, 1e-10);
      assertSameDirections(u, ref.u, m, 3, 1e-6, 'left singular vector');
    } finally {
      r.close();
    }
  });
});
