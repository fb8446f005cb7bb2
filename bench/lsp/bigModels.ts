// The language server on big models: time to the first full analysis of a workspace with
// the bundled example plus a 512 MiB safetensors checkpoint, and the server's peak memory
// while it analyses a 1.5 GiB one (target ≤ 400 MB). The files are generated in a temporary
// folder (≤ 1.5 GiB on disk at a time) and deleted afterwards. Reference in the same run:
// reading and hashing the checkpoint once (what any content-keyed cache must do).
// Usage: npx tsx bench/lsp/bigModels.ts   (npm run build first)
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statfsSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelsRequest } from '../../shared/protocol.js';
import { tempDir } from '../../test/helpers/cli.js';
import { LspSession } from '../../test/lsp/lspClient.js';

const MiB = 2 ** 20;
/** Every layer is a 1024 × 16384 float32 Linear weight (64 MiB): like a transformer MLP projection. */
const ROWS = 1024, COLS = 16384;

/** Writes a safetensors file of `layers` such weights, streaming one 16 MiB chunk at a time. */
function writeCheckpoint(path: string, layers: number): number {
  const bytes = ROWS * COLS * 4;
  const header: Record<string, unknown> = {};
  for (let i = 0; i < layers; i++) header[`layers.${i}.weight`] = { dtype: 'F32', shape: [ROWS, COLS], data_offsets: [i * bytes, (i + 1) * bytes] };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, prefix);
    writeSync(fd, json);
    // Seeded xorshift values in [-1, 1): a full-rank spectrum, the slowest kind to analyse.
    const chunk = new Float32Array(4 * MiB);
    let s = 0x9e3779b9;
    for (let written = 0; written < layers * bytes; written += chunk.byteLength) {
      for (let i = 0; i < chunk.length; i++) {
        s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
        chunk[i] = (s >>> 0) / 2 ** 31 - 1;
      }
      writeSync(fd, new Uint8Array(chunk.buffer));
    }
  } finally {
    closeSync(fd);
  }
  return 8 + json.length + layers * bytes;
}

const statusField = (pid: number, field: string): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
};

/** The server and every process under it (worker threads are in the server's own process). */
function processTree(pid: number): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((t) => {
    try { return readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { return []; }
  });
  return [pid, ...children.flatMap(processTree)];
}

/** Peak resident memory of the server's process tree: VmHWM of each, summed, sampled until stopped. */
function watchPeak(pid: number): () => number {
  const peaks = new Map<number, number>();
  const sample = (): void => {
    try {
      for (const p of processTree(pid)) peaks.set(p, Math.max(peaks.get(p) ?? 0, statusField(p, 'VmHWM')));
    } catch { /* a process ended between listing and reading */ }
  };
  const timer = setInterval(sample, 100);
  return () => { sample(); clearInterval(timer); return [...peaks.values()].reduce((a, b) => a + b, 0); };
}

async function hashOnce(path: string): Promise<number> {
  const t = performance.now();
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) h.update(chunk as Buffer);
  h.digest();
  return performance.now() - t;
}

interface Measured { ms: number; peakBytes: number; states: string[] }

/** A fresh server (empty cache, embedded engine) on the folder, until every model is analysed. */
async function analyse(folder: string): Promise<Measured> {
  const t = performance.now();
  const lsp = await LspSession.start(folder, { storagePath: `${folder}.cache`, settings: { engine: 'embedded', maxFileSizeMB: 4096 } });
  const stop = watchPeak(lsp.proc.pid!);
  try {
    await lsp.quiescent(0);
    const ms = performance.now() - t;
    const states = (await lsp.connection.sendRequest(modelsRequest)).map((m) => `${m.uri.split('/').pop()}: ${m.state}${m.message ? ` (${m.message})` : ''}`);
    return { ms, peakBytes: stop(), states };
  } finally {
    stop();
    await lsp.stop();
  }
}

const free = (() => { const s = statfsSync(tmpdir()); return s.bavail * s.bsize; })();
if (free < 3 * 2 ** 30) throw new Error(`needs 3 GiB free in the temporary folder, has ${(free / 2 ** 30).toFixed(1)} GiB`);

const mb = (b: number): string => `${(b / MiB).toFixed(0)} MiB`;

// Everything generated lives here and is deleted at the end, whatever happens.
const root = tempDir('reducible-bench-big-');
try {
  // 1. The bundled example plus a 512 MiB checkpoint: time to the first full analysis.
  const ws = join(root, 'example-and-512');
  mkdirSync(join(ws, 'fashion'), { recursive: true });
  copyFileSync('examples/fashion-mnist/model.json', join(ws, 'fashion', 'model.json'));
  copyFileSync('examples/fashion-mnist/weights.bin', join(ws, 'fashion', 'weights.bin'));
  const ckpt = join(ws, 'big-512.safetensors');
  const size = writeCheckpoint(ckpt, 8);
  const hashMs = await hashOnce(ckpt);
  const r = await analyse(ws);
  console.log(`workspace: bundled example + ${mb(size)} safetensors (8 × ${ROWS}×${COLS} f32)`);
  console.log(`  first full analysis (server start → every model analysed): ${(r.ms / 1000).toFixed(1)} s; peak server RSS ${mb(r.peakBytes)}`);
  console.log(`  reference, hashing the checkpoint once: ${(hashMs / 1000).toFixed(2)} s (analysis / hash ${(r.ms / hashMs).toFixed(1)}×)`);
  console.log(`  ${r.states.join('; ')}`);
  rmSync(ckpt);

  // 2. A 1.5 GiB checkpoint alone: peak memory of the server while it analyses it.
  const ws2 = join(root, 'one-1536');
  mkdirSync(ws2);
  const big = join(ws2, 'big-1536.safetensors');
  const bigSize = writeCheckpoint(big, 24);
  const r2 = await analyse(ws2);
  console.log(`workspace: one ${mb(bigSize)} safetensors (24 × ${ROWS}×${COLS} f32)`);
  console.log(`  analysis ${(r2.ms / 1000).toFixed(1)} s; peak server RSS ${mb(r2.peakBytes)} — target ≤ 400 MB (${(400e6 / MiB).toFixed(0)} MiB): ${r2.peakBytes <= 400e6 ? 'met' : 'MISSED'}`);
  console.log(`  ${r2.states.join('; ')}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}

