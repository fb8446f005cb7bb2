// WebAssembly SIMD (f64x2) kernels behind singularValues.ts: the f64 Gram matrix of the
// smaller side, and its blocked Householder tridiagonalisation (LAPACK dsytrd/dlatrd,
// lower); and behind whitening (wasmTriangular.ts): the Cholesky factor of a moment matrix
// and products with its transpose. Built by scripts/build-wasm.sh; the JS side owns all
// memory layout.
//
// Storage: symmetric matrices are kept as their lower triangle in column-major order with
// leading dimension ld (column c, rows c..n-1, contiguous). ld ≥ n+4 and is even, so 4×4
// tiles that overhang the last row or column land in padding instead of needing edge code.
//
// Threads: several instances share one memory. Every parallel kernel takes (tid, nthreads)
// and touches only its own share of columns, so callers need nothing but a barrier between
// steps. Kernels use no shadow stack (scalars only), which is what makes one memory safe
// for several instances whose stack pointers all start at the same address.

#include <wasm_simd128.h>

typedef v128_t f64x2;

#define LD2(p) wasm_v128_load(p)
#define ST2(p, v) wasm_v128_store((p), (v))

// ---------------------------------------------------------------------------------------
// Tiles: A(i0..i0+3, c0..c0+3) += sign·Σ_k P[k][0..3] ⊗ Q[k][0..3] (+ P2 ⊗ Q2 when two).
// Panels are packed 4 rows at a time, k-major: P[k*4 + r] = X(i0 + r, k). Q's rows may lie
// further apart (qs doubles; 4 when packed), so a row-major matrix serves unpacked.

static inline void tile(double *a, int ld, const double *p, const double *q, int qs,
                        const double *p2, const double *q2, int K, int two, double sign) {
  f64x2 c00 = wasm_f64x2_splat(0), c01 = c00, c10 = c00, c11 = c00;
  f64x2 c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int k = 0; k < K; k++) {
    const double *pk = p + 4 * k, *qk = q + (long)qs * k;
    f64x2 lo = LD2(pk), hi = LD2(pk + 2);
    f64x2 s;
    s = wasm_f64x2_splat(qk[0]); c00 = wasm_f64x2_add(c00, wasm_f64x2_mul(lo, s)); c01 = wasm_f64x2_add(c01, wasm_f64x2_mul(hi, s));
    s = wasm_f64x2_splat(qk[1]); c10 = wasm_f64x2_add(c10, wasm_f64x2_mul(lo, s)); c11 = wasm_f64x2_add(c11, wasm_f64x2_mul(hi, s));
    s = wasm_f64x2_splat(qk[2]); c20 = wasm_f64x2_add(c20, wasm_f64x2_mul(lo, s)); c21 = wasm_f64x2_add(c21, wasm_f64x2_mul(hi, s));
    s = wasm_f64x2_splat(qk[3]); c30 = wasm_f64x2_add(c30, wasm_f64x2_mul(lo, s)); c31 = wasm_f64x2_add(c31, wasm_f64x2_mul(hi, s));
    if (two) {
      const double *pk2 = p2 + 4 * k, *qk2 = q2 + 4 * k;
      lo = LD2(pk2); hi = LD2(pk2 + 2);
      s = wasm_f64x2_splat(qk2[0]); c00 = wasm_f64x2_add(c00, wasm_f64x2_mul(lo, s)); c01 = wasm_f64x2_add(c01, wasm_f64x2_mul(hi, s));
      s = wasm_f64x2_splat(qk2[1]); c10 = wasm_f64x2_add(c10, wasm_f64x2_mul(lo, s)); c11 = wasm_f64x2_add(c11, wasm_f64x2_mul(hi, s));
      s = wasm_f64x2_splat(qk2[2]); c20 = wasm_f64x2_add(c20, wasm_f64x2_mul(lo, s)); c21 = wasm_f64x2_add(c21, wasm_f64x2_mul(hi, s));
      s = wasm_f64x2_splat(qk2[3]); c30 = wasm_f64x2_add(c30, wasm_f64x2_mul(lo, s)); c31 = wasm_f64x2_add(c31, wasm_f64x2_mul(hi, s));
    }
  }
  f64x2 sg = wasm_f64x2_splat(sign);
  double *a0 = a, *a1 = a + ld, *a2 = a + 2 * ld, *a3 = a + 3 * ld;
  ST2(a0, wasm_f64x2_add(LD2(a0), wasm_f64x2_mul(sg, c00))); ST2(a0 + 2, wasm_f64x2_add(LD2(a0 + 2), wasm_f64x2_mul(sg, c01)));
  ST2(a1, wasm_f64x2_add(LD2(a1), wasm_f64x2_mul(sg, c10))); ST2(a1 + 2, wasm_f64x2_add(LD2(a1 + 2), wasm_f64x2_mul(sg, c11)));
  ST2(a2, wasm_f64x2_add(LD2(a2), wasm_f64x2_mul(sg, c20))); ST2(a2 + 2, wasm_f64x2_add(LD2(a2 + 2), wasm_f64x2_mul(sg, c21)));
  ST2(a3, wasm_f64x2_add(LD2(a3), wasm_f64x2_mul(sg, c30))); ST2(a3 + 2, wasm_f64x2_add(LD2(a3 + 2), wasm_f64x2_mul(sg, c31)));
}

// First column block owned by thread tid when `blocks` column blocks of a lower triangle
// are shared out by area (block b has blocks-b tiles).
static int share_start(int blocks, int tid, int nthreads) {
  if (tid == 0) return 0;
  if (tid >= nthreads) return blocks;
  double total = (double)blocks * (blocks + 1) / 2, want = total * tid / nthreads, acc = 0;
  int b = 0;
  while (b < blocks && acc + (blocks - b) <= want) { acc += blocks - b; b++; }
  return b;
}

// Lower-triangle rank-K update of the trailing block starting at row/col `off`:
//   A(off+i, off+c) += sign·Σ_k (P(i,k)Q(c,k) [+ P2(i,k)Q2(c,k)])   for c ≤ i < n-off.
// Panels hold round4(n-off) rows, zero beyond n-off.
#define ROW_TILES 16

// Row tiles [t0, t1) of column block u. A function of its own, called many times per update,
// so that V8 moves it to optimised code during a job's first long update (see the note
// on V8's tiers above reduce_column).
__attribute__((noinline)) static void update_column(double *a, int ld, int off, const double *p, const double *q,
    const double *p2, const double *q2, int K, int two, double sign, int u, int t0, int t1) {
  const double *qu = q + 4 * K * u, *q2u = two ? q2 + 4 * K * u : 0;
  double *col = a + (long)(off + 4 * u) * ld;
  // The diagonal tile (t == u) is computed whole; its strictly-upper part lands in the
  // upper triangle, which nothing reads.
  for (int t = u > t0 ? u : t0; t < t1; t++)
    tile(col + off + 4 * t, ld, p + 4 * K * t, qu, 4, two ? p2 + 4 * K * t : 0, q2u, K, two, sign);
}

static void lower_update(double *a, int ld, int off, int n, const double *p, const double *q,
                         const double *p2, const double *q2, int K, int two, double sign,
                         int tid, int nthreads) {
  int rows = n - off, blocks = (rows + 3) / 4;
  int b0 = share_start(blocks, tid, nthreads), b1 = share_start(blocks, tid + 1, nthreads);
  // Rows go in blocks of ROW_TILES tiles so their panels stay in L1/L2 while every column
  // block of this thread's share passes over them.
  for (int t0 = b0; t0 < blocks; t0 += ROW_TILES) {
    int t1 = t0 + ROW_TILES < blocks ? t0 + ROW_TILES : blocks;
    for (int u = b0; u < b1 && u < t1; u++) update_column(a, ld, off, p, q, p2, q2, K, two, sign, u, t0, t1);
  }
}

// ---------------------------------------------------------------------------------------
// Threads. All instances see one control block; thread 0 (the caller) publishes a task and
// its arguments, bumps `gen`, does its own share and waits for the others to check in.

enum { TASK_QUIT = 0, TASK_UPDATE = 1, TASK_SYMV = 2, TASK_REFLECT = 3, TASK_TIMES = 4, TASK_UPPER = 5 };

// Field order is mirrored by CTRL in wasmSpectra.ts.
typedef struct {
  int gen, task, done, nthreads;
  int arg[8];
  int failed;  // set by a helper that could not run its shares (it still checks in)
} Ctrl;

static void update_share(Ctrl *c, int tid, int nthreads);
static void symv_share(Ctrl *c, int tid, int nthreads);
static void reflect_share(Ctrl *c, int tid, int nthreads);
static void times_share(Ctrl *c, int tid, int nthreads);
static void upper_share(Ctrl *c, int tid, int nthreads);

// The wait lives in its own function because Node 20's V8 (baseline tier) loses a local
// that is live across an inlined memory.atomic.wait32: the barrier loop then never exits.
__attribute__((noinline)) static void wait_while(int *p, int v) {
  __builtin_wasm_memory_atomic_wait32(p, v, -1);
}

static void run_task(Ctrl *c, int tid, int nthreads) {
  switch (c->task) {
    case TASK_UPDATE: update_share(c, tid, nthreads); break;
    case TASK_SYMV: symv_share(c, tid, nthreads); break;
    case TASK_REFLECT: reflect_share(c, tid, nthreads); break;
    case TASK_TIMES: times_share(c, tid, nthreads); break;
    case TASK_UPPER: upper_share(c, tid, nthreads); break;
  }
}

// Runs the published task on all threads, or on the caller alone when `small`.
static void parallel(Ctrl *c, int task, int small) {
  c->task = task;
  int nthreads = c->nthreads;
  if (nthreads == 1 || small) { run_task(c, 0, 1); return; }
  __atomic_store_n(&c->done, 0, __ATOMIC_SEQ_CST);
  __atomic_fetch_add(&c->gen, 1, __ATOMIC_SEQ_CST);
  __builtin_wasm_memory_atomic_notify(&c->gen, (unsigned)-1);
  run_task(c, 0, nthreads);
  for (;;) {
    int done = __atomic_load_n(&c->done, __ATOMIC_SEQ_CST);
    if (done == nthreads - 1) break;
    wait_while(&c->done, done);
  }
}

/**
 * Body of a helper thread (tid ≥ 1): runs published tasks until TASK_QUIT. The control block
 * starts zeroed, so a helper that arrives late still sees every generation after 0.
 */
void helper_loop(Ctrl *c, int tid) {
  int seen = 0;
  for (;;) {
    int gen;
    while ((gen = __atomic_load_n(&c->gen, __ATOMIC_SEQ_CST)) == seen)
      wait_while(&c->gen, seen);
    seen = gen;
    if (c->task == TASK_QUIT) {
      __atomic_fetch_add(&c->done, 1, __ATOMIC_SEQ_CST);
      __builtin_wasm_memory_atomic_notify(&c->done, 1);
      return;
    }
    run_task(c, tid, c->nthreads);
    __atomic_fetch_add(&c->done, 1, __ATOMIC_SEQ_CST);
    __builtin_wasm_memory_atomic_notify(&c->done, 1);
  }
}

/**
 * Releases the helper threads from helper_loop and waits until every one has left it (a
 * helper that has not arrived yet leaves as soon as it does), so the memory can host the
 * next job without a straggler taking that job's tasks for its own.
 */
void stop_helpers(Ctrl *c) {
  int nthreads = c->nthreads;
  __atomic_store_n(&c->done, 0, __ATOMIC_SEQ_CST);
  c->task = TASK_QUIT;
  __atomic_fetch_add(&c->gen, 1, __ATOMIC_SEQ_CST);
  __builtin_wasm_memory_atomic_notify(&c->gen, (unsigned)-1);
  for (;;) {
    int done = __atomic_load_n(&c->done, __ATOMIC_SEQ_CST);
    if (done >= nthreads - 1) break;
    wait_while(&c->done, done);
  }
}

// The trailing updates of the Gram, the tridiagonalisation and the Cholesky factorisation,
// all lower_update on packed panels: A += sign·P·Pᵀ, or A += sign·(P·Qᵀ + Q·Pᵀ) when q ≠ p.
static void update_share(Ctrl *c, int tid, int nthreads) {
  const double *p = (const double *)c->arg[4], *q = (const double *)c->arg[5];
  int two = p != q;
  lower_update((double *)c->arg[0], c->arg[1], c->arg[2], c->arg[3], p, q, two ? q : 0, two ? p : 0,
               c->arg[6], two, c->arg[7], tid, nthreads);
}

// Runs update_share for rows/cols ≥ off of the n×n lower triangle, on the caller alone when small.
static void rank_update(Ctrl *c, double *a, int ld, int off, int n, const double *p, const double *q, int K, int sign) {
  c->arg[0] = (int)a; c->arg[1] = ld; c->arg[2] = off; c->arg[3] = n;
  c->arg[4] = (int)p; c->arg[5] = (int)q; c->arg[6] = K; c->arg[7] = sign;
  parallel(c, TASK_UPDATE, n - off < 128);
}

// ---------------------------------------------------------------------------------------
// Gram: G += XᵀX one chunk of K samples at a time, X given as f32 with X(i,k) at
// src[i*strideI + k*strideK] (i < s). Packing converts to f64 once per chunk so the tiles
// stream contiguous f64 panels.

void gram_chunk(Ctrl *c, double *g, int ld, int s, const float *src, int strideI, int strideK,
                int K, double *xp) {
  int s4 = (s + 3) & ~3;
  for (int i = 0; i < s4; i++) {
    double *dst = xp + (i >> 2) * 4 * K + (i & 3);
    if (i < s) {
      const float *row = src + (long)i * strideI;
      for (int k = 0; k < K; k++) dst[4 * k] = row[(long)k * strideK];
    } else {
      for (int k = 0; k < K; k++) dst[4 * k] = 0;
    }
  }
  rank_update(c, g, ld, 0, s, xp, xp, K, 1);
}

// ---------------------------------------------------------------------------------------
// Tridiagonalisation (dsytrd/dlatrd, lower). Per column: apply the panel's earlier
// reflectors to it, form its reflector, and w = A22·v by a symmetric matrix-vector product
// over the not-yet-updated trailing matrix, corrected with the panel's V and W. Once per
// panel the trailing matrix takes the whole rank-2·nb update A −= VWᵀ + WVᵀ as tiles. So
// half the flops are tile (GEMM-like) work; the other half, the symv, reads the lower
// triangle once per column and is bound by memory bandwidth.

static void symv_share(Ctrl *c, int tid, int nthreads) {
  const double *a = (const double *)c->arg[0];
  int ld = c->arg[1], j0 = c->arg[2], n = c->arg[3];
  const double *v = (const double *)c->arg[4];
  double *y = (double *)c->arg[5] + (long)tid * ld;
  int cols = n - j0;
  int b0 = j0 + share_start(cols, tid, nthreads), b1 = j0 + share_start(cols, tid + 1, nthreads);
  for (int i = j0; i < n; i++) y[i] = 0;
  int col = b0;
  // Four columns per pass: each y element is loaded and stored once for all four, so the
  // loop is bound by streaming A rather than by y traffic.
  for (; col + 3 < b1; col += 4) {
    const double *a0 = a + (long)col * ld, *a1 = a0 + ld, *a2 = a1 + ld, *a3 = a2 + ld;
    const double *aq[4] = {a0, a1, a2, a3};
    // The 4×4 lower triangle on the diagonal, each off-diagonal entry used both ways.
    for (int q = 0; q < 4; q++) {
      y[col + q] += aq[q][col + q] * v[col + q];
      for (int r = q + 1; r < 4; r++) {
        y[col + r] += aq[q][col + r] * v[col + q];
        y[col + q] += aq[q][col + r] * v[col + r];
      }
    }
    f64x2 vs0 = wasm_f64x2_splat(v[col]), vs1 = wasm_f64x2_splat(v[col + 1]);
    f64x2 vs2 = wasm_f64x2_splat(v[col + 2]), vs3 = wasm_f64x2_splat(v[col + 3]);
    f64x2 s0 = wasm_f64x2_splat(0), s1 = s0, s2 = s0, s3 = s0;
    int i = col + 4;
    for (; i + 1 < n; i += 2) {
      f64x2 x0 = LD2(a0 + i), x1 = LD2(a1 + i), x2 = LD2(a2 + i), x3 = LD2(a3 + i), vi = LD2(v + i);
      f64x2 u = wasm_f64x2_add(wasm_f64x2_mul(x0, vs0), wasm_f64x2_mul(x1, vs1));
      u = wasm_f64x2_add(u, wasm_f64x2_add(wasm_f64x2_mul(x2, vs2), wasm_f64x2_mul(x3, vs3)));
      ST2(y + i, wasm_f64x2_add(LD2(y + i), u));
      s0 = wasm_f64x2_add(s0, wasm_f64x2_mul(x0, vi));
      s1 = wasm_f64x2_add(s1, wasm_f64x2_mul(x1, vi));
      s2 = wasm_f64x2_add(s2, wasm_f64x2_mul(x2, vi));
      s3 = wasm_f64x2_add(s3, wasm_f64x2_mul(x3, vi));
    }
    double t0 = wasm_f64x2_extract_lane(s0, 0) + wasm_f64x2_extract_lane(s0, 1);
    double t1 = wasm_f64x2_extract_lane(s1, 0) + wasm_f64x2_extract_lane(s1, 1);
    double t2 = wasm_f64x2_extract_lane(s2, 0) + wasm_f64x2_extract_lane(s2, 1);
    double t3 = wasm_f64x2_extract_lane(s3, 0) + wasm_f64x2_extract_lane(s3, 1);
    for (; i < n; i++) {
      y[i] += a0[i] * v[col] + a1[i] * v[col + 1] + a2[i] * v[col + 2] + a3[i] * v[col + 3];
      t0 += a0[i] * v[i]; t1 += a1[i] * v[i]; t2 += a2[i] * v[i]; t3 += a3[i] * v[i];
    }
    y[col] += t0; y[col + 1] += t1; y[col + 2] += t2; y[col + 3] += t3;
  }
  // The share's last few columns one at a time.
  for (; col < b1; col++) {
    const double *ac = a + (long)col * ld;
    double vc = v[col], t = ac[col] * vc;
    for (int i = col + 1; i < n; i++) { y[i] += ac[i] * vc; t += ac[i] * v[i]; }
    y[col] += t;
  }
}

static double dot(const double *x, const double *y, int from, int to) {
  f64x2 s0 = wasm_f64x2_splat(0), s1 = s0;
  int i = from;
  for (; i + 3 < to; i += 4) {
    s0 = wasm_f64x2_add(s0, wasm_f64x2_mul(wasm_v128_load(x + i), wasm_v128_load(y + i)));
    s1 = wasm_f64x2_add(s1, wasm_f64x2_mul(wasm_v128_load(x + i + 2), wasm_v128_load(y + i + 2)));
  }
  s0 = wasm_f64x2_add(s0, s1);
  double s = wasm_f64x2_extract_lane(s0, 0) + wasm_f64x2_extract_lane(s0, 1);
  for (; i < to; i++) s += x[i] * y[i];
  return s;
}

// y[i] += α·x[i] + β·z[i] over [from, to).
static void axpy2(double *y, double alpha, const double *x, double beta, const double *z, int from, int to) {
  f64x2 av = wasm_f64x2_splat(alpha), bv = wasm_f64x2_splat(beta);
  int i = from;
  for (; i + 1 < to; i += 2)
    ST2(y + i, wasm_f64x2_add(LD2(y + i), wasm_f64x2_add(wasm_f64x2_mul(av, LD2(x + i)), wasm_f64x2_mul(bv, LD2(z + i)))));
  for (; i < to; i++) y[i] += alpha * x[i] + beta * z[i];
}

// y[i] += α·x[i] over [from, to).
static void axpy(double *y, double alpha, const double *x, int from, int to) {
  f64x2 av = wasm_f64x2_splat(alpha);
  int i = from;
  for (; i + 1 < to; i += 2) ST2(y + i, wasm_f64x2_add(LD2(y + i), wasm_f64x2_mul(av, LD2(x + i))));
  for (; i < to; i++) y[i] += alpha * x[i];
}

static double hypot2(double x, double y) {
  x = __builtin_fabs(x); y = __builtin_fabs(y);
  double big = x > y ? x : y, small = x > y ? y : x;
  if (big == 0) return 0;
  double r = small / big;
  return big * __builtin_sqrt(1 + r * r);
}

// ‖x[from..to)‖ without overflow or underflow: scaled by the largest magnitude.
static double norm2(const double *x, int from, int to) {
  double big = 0;
  for (int i = from; i < to; i++) { double t = __builtin_fabs(x[i]); if (t > big) big = t; }
  if (big == 0) return 0;
  double inv = 1 / big, s = 0;
  for (int i = from; i < to; i++) { double t = x[i] * inv; s += t * t; }
  return big * __builtin_sqrt(s);
}

// V8 runs a WebAssembly function in its baseline compiler (Liftoff, 2–3× slower here) until
// it has been called enough to be recompiled, and a call already running never switches. So
// every loop that runs long is in a function that is called many times per job: the
// per-column step and the panel packing below (and times_share, reflect_share, … through
// run_task), not inlined into the one long tridiagonalize call, which would otherwise run
// the first job of every process in baseline code.

// Column j of panel jj: apply the panel's earlier reflectors to it, form its reflector
// (d, e, tau, v_j) and w_j = τ·(A22·v_j corrected with the panel) − ½τ²(w·v)v.
__attribute__((noinline)) static void reduce_column(Ctrl *c, double *a, int ld, int n, int j, int jj,
    double *d, double *e, double *tau_out, double *v, double *w, double *y) {
  double *aj = a + (long)j * ld;
  for (int p = 0; p < jj; p++) {
    const double *vq = v + (long)p * ld, *wq = w + (long)p * ld;
    axpy2(aj, -wq[j], vq, -vq[j], wq, j, n);
  }
  d[j] = aj[j];
  if (j == n - 1) return;
  double *vj = v + (long)jj * ld, *wj = w + (long)jj * ld;
  double alpha = aj[j + 1], xnorm = norm2(aj, j + 2, n), tau = 0;
  vj[j + 1] = 1;
  if (xnorm == 0) {
    e[j] = alpha;
  } else {
    double beta = -__builtin_copysign(hypot2(alpha, xnorm), alpha);
    tau = (beta - alpha) / beta;
    double scale = 1 / (alpha - beta);
    for (int i = j + 2; i < n; i++) aj[i] = vj[i] = aj[i] * scale;
    e[j] = beta;
  }
  tau_out[j] = tau;
  if (tau == 0) return;  // H = I: w stays 0
  c->arg[0] = (int)a; c->arg[1] = ld; c->arg[2] = j + 1; c->arg[3] = n;
  c->arg[4] = (int)vj; c->arg[5] = (int)y;
  parallel(c, TASK_SYMV, n - j < 256);
  int nt = (n - j < 256) ? 1 : c->nthreads;
  for (int i = j + 1; i < n; i++) wj[i] = y[i];
  for (int t = 1; t < nt; t++) axpy2(wj, 1, y + (long)t * ld, 0, y, j + 1, n);
  for (int p = 0; p < jj; p++) {
    const double *vq = v + (long)p * ld, *wq = w + (long)p * ld;
    axpy2(wj, -dot(wq, vj, j + 1, n), vq, -dot(vq, vj, j + 1, n), wq, j + 1, n);
  }
  for (int i = j + 1; i < n; i++) wj[i] *= tau;
  double half = -0.5 * tau * dot(wj, vj, j + 1, n);
  axpy2(wj, half, vj, 0, vj, j + 1, n);
}

// Rows k1.. of K columns (column p at v + p·ld), packed as 4-row tiles for lower_update.
__attribute__((noinline)) static void pack_panel(const double *v, int ld, int k1, int n, int K, double *vp) {
  int rows = n - k1;
  for (int i = 0; i < ((rows + 3) & ~3); i++) {
    long at = (long)(i >> 2) * 4 * K + (i & 3);
    for (int p = 0; p < K; p++) vp[at + 4 * p] = i < rows ? v[(long)p * ld + k1 + i] : 0;
  }
}

/**
 * Reduces the symmetric n×n matrix (lower, column-major, leading dimension ld) to
 * tridiagonal form: d (n) diagonal, e (n-1) sub-diagonal. Like dsytrd, it leaves reflector j
 * (H_j = I − τ_j·v·vᵀ, v = (0…0, 1, a(j+2..n-1, j))) below the sub-diagonal of column j and
 * τ_j in tau (n-1), so apply_reflectors can turn eigenvectors of T into those of A; the rest
 * of the matrix is destroyed. Workspace: v and w are ld×nb (column-major), vp and wp hold
 * (ld)·nb doubles each, y holds nthreads·ld doubles.
 */
void tridiagonalize(Ctrl *c, double *a, int ld, int n, int nb, double *d, double *e, double *tau_out,
                    double *v, double *w, double *vp, double *wp, double *y) {
  for (int k0 = 0; k0 < n; k0 += nb) {
    int k1 = k0 + nb < n ? k0 + nb : n;
    __builtin_memset(v, 0, sizeof(double) * ld * nb);
    __builtin_memset(w, 0, sizeof(double) * ld * nb);
    for (int j = k0; j < k1; j++) reduce_column(c, a, ld, n, j, j - k0, d, e, tau_out, v, w, y);
    if (k1 >= n) break;
    // Trailing update of rows/cols ≥ k1 with the whole panel, as packed 4-row tiles.
    int K = k1 - k0;
    pack_panel(v, ld, k1, n, K, vp);
    pack_panel(w, ld, k1, n, K, wp);
    rank_update(c, a, ld, k1, n, vp, wp, K, -1);
  }
}

// ---------------------------------------------------------------------------------------
// Eigenvectors of A from those of T: x ← H_0·H_1·…·H_{n-2}·x for `count` vectors of length n
// (vector c at x + c·xld), the reflectors as tridiagonalize left them. Reflectors go in
// blocks, so a block's columns stay in cache while every vector of the thread's share passes
// through it; vectors are shared out among threads.

#define REFLECT_BLOCK 32

static void reflect_share(Ctrl *c, int tid, int nthreads) {
  const double *a = (const double *)c->arg[0], *tau = (const double *)c->arg[3];
  int ld = c->arg[1], n = c->arg[2], count = c->arg[5], xld = c->arg[6];
  double *x = (double *)c->arg[4];
  int c0 = (int)((long)count * tid / nthreads), c1 = (int)((long)count * (tid + 1) / nthreads);
  for (int hi = n - 2; hi >= 0; hi -= REFLECT_BLOCK) {
    int lo = hi - REFLECT_BLOCK + 1 > 0 ? hi - REFLECT_BLOCK + 1 : 0;
    for (int v = c0; v < c1; v++) {
      double *xv = x + (long)v * xld;
      for (int j = hi; j >= lo; j--) {
        if (tau[j] == 0) continue;
        const double *aj = a + (long)j * ld;
        double s = tau[j] * (xv[j + 1] + dot(aj, xv, j + 2, n));
        xv[j + 1] -= s;
        axpy(xv, -s, aj, j + 2, n);
      }
    }
  }
}

void apply_reflectors(Ctrl *c, const double *a, int ld, int n, const double *tau, double *x, int count, int xld) {
  c->arg[0] = (int)a; c->arg[1] = ld; c->arg[2] = n; c->arg[3] = (int)tau;
  c->arg[4] = (int)x; c->arg[5] = count; c->arg[6] = xld;
  parallel(c, TASK_REFLECT, (long)count * n < 65536);
}

// ---------------------------------------------------------------------------------------
// Rows times vectors: out[v·ostride + r] = Σ_t X(r,t)·z_v(t) for r < rows, X f32 row-major
// rows×len (readable up to a multiple of 4 rows), z_v f64 at z + v·len, sums in f64.
// Tiles of 4 rows × 2 vectors keep eight sums in registers; threads share the vectors, and
// each sweeps the whole (cache-sized) block of rows once per vector pair.

static inline f64x2 f32pair(const float *p) {
  return wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(p));
}

static inline double hsum(f64x2 s) { return wasm_f64x2_extract_lane(s, 0) + wasm_f64x2_extract_lane(s, 1); }

static void times_tile(const float *x, int len, const double *z0, const double *z1, int two, double out[8]) {
  const float *x0 = x, *x1 = x + len, *x2 = x + 2 * len, *x3 = x + 3 * len;
  f64x2 a0 = wasm_f64x2_splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  int t = 0;
  for (; t + 1 < len; t += 2) {
    f64x2 p = LD2(z0 + t), q = two ? LD2(z1 + t) : p;
    f64x2 r0 = f32pair(x0 + t), r1 = f32pair(x1 + t), r2 = f32pair(x2 + t), r3 = f32pair(x3 + t);
    a0 = wasm_f64x2_add(a0, wasm_f64x2_mul(r0, p)); b0 = wasm_f64x2_add(b0, wasm_f64x2_mul(r0, q));
    a1 = wasm_f64x2_add(a1, wasm_f64x2_mul(r1, p)); b1 = wasm_f64x2_add(b1, wasm_f64x2_mul(r1, q));
    a2 = wasm_f64x2_add(a2, wasm_f64x2_mul(r2, p)); b2 = wasm_f64x2_add(b2, wasm_f64x2_mul(r2, q));
    a3 = wasm_f64x2_add(a3, wasm_f64x2_mul(r3, p)); b3 = wasm_f64x2_add(b3, wasm_f64x2_mul(r3, q));
  }
  out[0] = hsum(a0); out[1] = hsum(a1); out[2] = hsum(a2); out[3] = hsum(a3);
  out[4] = hsum(b0); out[5] = hsum(b1); out[6] = hsum(b2); out[7] = hsum(b3);
  for (; t < len; t++) {
    double p = z0[t], q = two ? z1[t] : 0;
    out[0] += x0[t] * p; out[1] += x1[t] * p; out[2] += x2[t] * p; out[3] += x3[t] * p;
    out[4] += x0[t] * q; out[5] += x1[t] * q; out[6] += x2[t] * q; out[7] += x3[t] * q;
  }
}

static void times_share(Ctrl *c, int tid, int nthreads) {
  const float *x = (const float *)c->arg[0];
  int rows = c->arg[1], len = c->arg[2], count = c->arg[4], ostride = c->arg[6];
  const double *z = (const double *)c->arg[3];
  double *out = (double *)c->arg[5];
  // Pairs of vectors are the unit of sharing, so a thread's tiles are all two-wide but the last.
  int pairs = (count + 1) / 2;
  int p0 = (int)((long)pairs * tid / nthreads), p1 = (int)((long)pairs * (tid + 1) / nthreads);
  double s[8];
  for (int pr = p0; pr < p1; pr++) {
    int v = 2 * pr, two = v + 1 < count;
    const double *z0 = z + (long)v * len, *z1 = z0 + len;
    double *o0 = out + (long)v * ostride, *o1 = o0 + ostride;
    for (int r = 0; r < rows; r += 4) {
      times_tile(x + (long)r * len, len, z0, z1, two, s);
      for (int q = 0; q < 4 && r + q < rows; q++) {
        o0[r + q] = s[q];
        if (two) o1[r + q] = s[4 + q];
      }
    }
  }
}

void times_vectors(Ctrl *c, const float *x, int rows, int len, const double *z, int count, double *out, int ostride) {
  c->arg[0] = (int)x; c->arg[1] = rows; c->arg[2] = len; c->arg[3] = (int)z;
  c->arg[4] = count; c->arg[5] = (int)out; c->arg[6] = ostride;
  parallel(c, TASK_TIMES, (long)rows * len * count < 1 << 20);
}

// ---------------------------------------------------------------------------------------
// Modified Gram–Schmidt, twice ("twice is enough" for orthogonality to rounding), on
// `count` vectors of length len (vector c at v + c·len), starting at vector `from` (those
// before it are already orthonormal). Returns the first vector left numerically inside the
// span of the previous ones (the caller replaces it, e.g. by a random one, and resumes
// there), or count when all are done.

// One vector against the `c` before it; 0 when nothing of it is left (see above).
__attribute__((noinline)) static int orthonormalize_one(double *v, int c, int len) {
  double *x = v + (long)c * len;
  double before = norm2(x, 0, len);
  for (int pass = 0; pass < 2; pass++)
    for (int d = 0; d < c; d++) {
      const double *y = v + (long)d * len;
      axpy(x, -dot(x, y, 0, len), y, 0, len);
    }
  double after = norm2(x, 0, len);
  if (!(after > 1e-12 * before && after > 0)) return 0;
  double inv = 1 / after;
  f64x2 s = wasm_f64x2_splat(inv);
  int i = 0;
  for (; i + 1 < len; i += 2) ST2(x + i, wasm_f64x2_mul(LD2(x + i), s));
  for (; i < len; i++) x[i] *= inv;
  return 1;
}

int orthonormalize(double *v, int count, int len, int from) {
  for (int c = from; c < count; c++)
    if (!orthonormalize_one(v, c, len)) return c;
  return count;
}

// ---------------------------------------------------------------------------------------
// Cholesky C + jitter·I = L·Lᵀ (LAPACK dpotrf, lower, right-looking, blocked): per panel of
// nb columns, each column takes the panel's earlier columns off (dpotf2 over the panel's
// whole height, which is also the triangular solve for the rows below), then the trailing
// matrix takes the panel's rank-nb update A22 −= L21·L21ᵀ as tiles: nearly all the flops.
// Lower, column-major with leading dimension ld, as the symmetric matrices above.

// Column j of C's lower triangle (row-major n×n at c, as the caller has it) into column j
// of a, jitter on the diagonal.
__attribute__((noinline)) static void gather_column(double *a, int ld, int n, int j, const double *c, double jitter) {
  double *aj = a + (long)j * ld;
  for (int i = j; i < n; i++) aj[i] = c[(long)i * n + j];
  aj[j] += jitter;
}

// Column j of the panel starting at k0; 0 when its pivot is not positive (C + jitter·I is
// not numerically positive definite).
__attribute__((noinline)) static int factor_column(double *a, int ld, int n, int k0, int j) {
  double *aj = a + (long)j * ld;
  int p = k0;
  for (; p + 1 < j; p += 2) {
    const double *a0 = a + (long)p * ld, *a1 = a0 + ld;
    axpy2(aj, -a0[j], a0, -a1[j], a1, j, n);
  }
  if (p < j) axpy(aj, -a[(long)p * ld + j], a + (long)p * ld, j, n);
  double d = aj[j];
  if (!(d > 0)) return 0;
  double r = __builtin_sqrt(d);
  aj[j] = r;
  f64x2 rv = wasm_f64x2_splat(r);
  int i = j + 1;
  for (; i + 1 < n; i += 2) ST2(aj + i, wasm_f64x2_div(LD2(aj + i), rv));
  for (; i < n; i++) aj[i] /= r;
  return 1;
}

// Row i of L into row-major l (zeros above the diagonal, as lower-triangular callers expect).
__attribute__((noinline)) static void scatter_row(const double *a, int ld, int n, int i, double *l) {
  double *li = l + (long)i * n;
  for (int j = 0; j <= i; j++) li[j] = a[(long)j * ld + i];
  for (int j = i + 1; j < n; j++) li[j] = 0;
}

/**
 * Factors C + jitter·I, C symmetric n×n row-major at l (its lower triangle is read), into
 * L, written row-major over C. Returns 0, leaving l undefined, when a pivot is not positive.
 * Workspace: a holds ld² doubles (ld ≥ n+4, even), vp ld·nb.
 */
int cholesky(Ctrl *c, double *l, int n, double jitter, double *a, int ld, int nb, double *vp) {
  for (int j = 0; j < n; j++) gather_column(a, ld, n, j, l, jitter);
  for (int k0 = 0; k0 < n; k0 += nb) {
    int k1 = k0 + nb < n ? k0 + nb : n;
    for (int j = k0; j < k1; j++)
      if (!factor_column(a, ld, n, k0, j)) return 0;
    if (k1 >= n) break;
    pack_panel(a + (long)k0 * ld, ld, k1, n, k1 - k0, vp);
    rank_update(c, a, ld, k1, n, vp, vp, k1 - k0, -1);
  }
  for (int i = 0; i < n; i++) scatter_row(a, ld, n, i, l);
  return 1;
}

// ---------------------------------------------------------------------------------------
// Products with U = Lᵀ, for L lower-triangular n×n row-major at l (zeros above the
// diagonal, 4 readable doubles past the end): U(i, k) = l[k·n + i], so four consecutive
// rows of U are four adjacent doubles of a row of L and feed tiles as an unpacked Q.
// The other operand and the result are n×cols, packed in panels of 4 columns: panel b at
// x + b·ps (ps ≥ 4·round4(n)), row i of it at +4i, so a 4×4 block of X is one tile with
// ld = 4 and its rows are contiguous f64x2 pairs. Panels are independent, so threads share
// them out and never meet.

#define UPPER_K 128   // k per tile call: the panel slice (4 KiB) stays in L1 across rows
#define UPPER_ROWS 64 // rows per block: their slice of L (UPPER_K × 512 B) stays in L2

// X(i, ·) += sign·Σ_{k ∈ [max(k0, i), k1)} U(i, k)·B(k, ·) for rows [r0, r1) (4-aligned r0)
// of panels [b0, b1). Rows past r1 up to a multiple of 4 take the update too: the caller
// leaves only padding there.
__attribute__((noinline)) static void upper_block(const double *l, int n, int r0, int r1, int k0, int k1,
    const double *b, double *x, int ps, int b0, int b1, double sign) {
  for (int jb = b0; jb < b1; jb++)
    for (int i = r0; i < r1; i += 4) {
      int ks = i > k0 ? i : k0;
      if (ks < k1)
        tile(x + (long)jb * ps + 4 * i, 4, b + (long)jb * ps + 4 * ks, l + (long)ks * n + i, n, 0, 0, k1 - ks, 0, sign);
    }
}

// X = U·B, X zeroed by the caller.
static void upper_times(const double *l, int n, const double *b, double *x, int ps, int b0, int b1) {
  for (int k0 = 0; k0 < n; k0 += UPPER_K) {
    int k1 = k0 + UPPER_K < n ? k0 + UPPER_K : n;
    for (int r0 = 0; r0 < k1; r0 += UPPER_ROWS)
      upper_block(l, n, r0, r0 + UPPER_ROWS < n ? r0 + UPPER_ROWS : n, k0, k1, b, x, ps, b0, b1, 1);
  }
}

// Rows [r0, r1) of U·X = Y by back substitution, Y in X, given every row below r1 solved.
__attribute__((noinline)) static void upper_substitute(const double *l, int n, int r0, int r1, double *x, int ps, int b0, int b1) {
  for (int i = r1 - 1; i >= r0; i--) {
    f64x2 d = wasm_f64x2_splat(l[(long)i * n + i]);
    for (int jb = b0; jb < b1; jb++) {
      double *xb = x + (long)jb * ps, *xi = xb + 4 * i;
      f64x2 lo = LD2(xi), hi = LD2(xi + 2);
      for (int p = i + 1; p < r1; p++) {
        f64x2 u = wasm_f64x2_splat(l[(long)p * n + i]);
        lo = wasm_f64x2_sub(lo, wasm_f64x2_mul(u, LD2(xb + 4 * p)));
        hi = wasm_f64x2_sub(hi, wasm_f64x2_mul(u, LD2(xb + 4 * p + 2)));
      }
      ST2(xi, wasm_f64x2_div(lo, d)); ST2(xi + 2, wasm_f64x2_div(hi, d));
    }
  }
}

// Solves U·X = Y in place, bottom block first: a block of rows takes the solved rows below
// it off as tiles (nearly all the flops), then substitutes within itself.
static void upper_solve(const double *l, int n, double *x, int ps, int b0, int b1) {
  for (int r0 = (n - 1) / UPPER_ROWS * UPPER_ROWS; r0 >= 0; r0 -= UPPER_ROWS) {
    int r1 = r0 + UPPER_ROWS < n ? r0 + UPPER_ROWS : n;
    for (int k0 = r1; k0 < n; k0 += UPPER_K)
      upper_block(l, n, r0, r1, k0, k0 + UPPER_K < n ? k0 + UPPER_K : n, x, x, ps, b0, b1, -1);
    upper_substitute(l, n, r0, r1, x, ps, b0, b1);
  }
}

static void upper_share(Ctrl *c, int tid, int nthreads) {
  const double *l = (const double *)c->arg[0], *b = (const double *)c->arg[2];
  int n = c->arg[1], ps = c->arg[4], panels = c->arg[5];
  double *x = (double *)c->arg[3];
  int b0 = (int)((long)panels * tid / nthreads), b1 = (int)((long)panels * (tid + 1) / nthreads);
  if (b) upper_times(l, n, b, x, ps, b0, b1);
  else upper_solve(l, n, x, ps, b0, b1);
}

/**
 * X = Lᵀ·B (b given) or, with b null, the solution of Lᵀ·X = Y given in x: L as above, X, B
 * and Y n×(4·panels) in packed panels of ps doubles.
 */
void upper_product(Ctrl *c, const double *l, int n, const double *b, double *x, int ps, int panels) {
  c->arg[0] = (int)l; c->arg[1] = n; c->arg[2] = (int)b; c->arg[3] = (int)x;
  c->arg[4] = ps; c->arg[5] = panels;
  parallel(c, TASK_UPPER, (long)n * n * panels < 1 << 18);
}
