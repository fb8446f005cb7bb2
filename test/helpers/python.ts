// Runs Debian's Python (numpy, onnx, torch, h5py) as the reference implementation.
import { spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

/** Runs `code` with `input` on stdin; returns stdout. Throws with stderr on failure. */
export function python(code: string, input?: Uint8Array, args: string[] = []): Buffer {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr?.toString()}`);
  return r.stdout;
}

/** numpy.linalg.svd singular values of a row-major f32 matrix, as f64. */
export function numpySingularValues(a: Float32Array, m: number, n: number): Float64Array {
  const out = python(
    'import sys,numpy as np;m,n=int(sys.argv[1]),int(sys.argv[2]);a=np.frombuffer(sys.stdin.buffer.read(),dtype="<f4").reshape(m,n).astype(np.float64);sys.stdout.buffer.write(np.linalg.svd(a,compute_uv=False).astype("<f8").tobytes())',
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength), [String(m), String(n)],
  );
  return new Float64Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
}
