// Shared by outputHashes.test.ts (which checks) and record.ts (which records): the fixture
// models, the compress cases run on them, and the hashing of what each run writes.
//
// Everything is taken from one checkout, `root`: its built CLI (dist/cli.js), its fixture
// generators (test/fixtures) and its bundled examples. Nothing here imports core/, so the
// test keeps compiling whatever core/ becomes.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ONE_CPU } from '../helpers/oneCpu.js';

export const PYTHON = '/usr/bin/python3';

/** The checkout the test runs by default: the one this file is in. */
export const HERE_ROOT = join(import.meta.dirname, '..', '..');

export const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Bytes that change with the clock and nothing else, zeroed, so that a file's hash is the same
 * run to run. Only Keras files need it; every other output is byte-for-byte reproducible.
 *
 * HDF5 (.h5, and model.weights.h5 inside a .keras): h5wasm writes version-2 object headers
 * ("OHDR") that carry the object's access, modification, change and birth times, and a
 * checksum over them. Both are zeroed in every object header; everything else is kept.
 *
 * Zip (.keras): each entry's DOS time and date, in its local header and in the central
 * directory, is the time of writing; its CRC-32 (in the central directory and in the data
 * descriptor that follows a streamed entry) covers the HDF5 times above. Both are zeroed; the
 * entries are stored uncompressed, so the HDF5 inside is normalised in place as well. The
 * input fixture mlp.keras needs the same: make_keras.py zips model.weights.h5 with
 * ZipFile.write, which stamps the file's mtime into the archive.
 */
export function normaliseBytes(file: string, bytes: Uint8Array): Uint8Array {
  if (!/\.(h5|keras)$/.test(file)) return bytes;
  const d = Uint8Array.from(bytes);
  const view = new DataView(d.buffer);
  const zero = (at: number, n: number): void => { if (at >= 0 && at + n <= d.length) d.fill(0, at, at + n); };
  try {
    if (file.endsWith('.keras')) normaliseZip(d, view, zero);
    normaliseHdf5(d, view, zero);
  } catch {
    // Not laid out as when the hashes were recorded (a RangeError reading past the end): the
    // bytes are hashed as far as they were normalised, and the hash tells the difference.
  }
  return d;
}

const OHDR = [0x4f, 0x48, 0x44, 0x52];

function normaliseHdf5(d: Uint8Array, view: DataView, zero: (at: number, n: number) => void): void {
  for (let p = d.indexOf(OHDR[0]); p >= 0 && p + 8 <= d.length; p = d.indexOf(OHDR[0], p + 1)) {
    if (d[p + 1] !== OHDR[1] || d[p + 2] !== OHDR[2] || d[p + 3] !== OHDR[3] || d[p + 4] !== 2) continue;
    const flags = d[p + 5];
    let q = p + 6;
    if (flags & 0x20) { zero(q, 16); q += 16; } // times stored
    if (flags & 0x10) q += 4; // attribute phase change values
    const width = 1 << (flags & 3);
    if (q + width > d.length) continue;
    const size = width === 1 ? d[q] : width === 2 ? view.getUint16(q, true) : width === 4 ? view.getUint32(q, true) : Number(view.getBigUint64(q, true));
    zero(q + width + size, 4); // checksum of chunk 0
  }
}

function normaliseZip(d: Uint8Array, view: DataView, zero: (at: number, n: number) => void): void {
  let end = -1;
  for (let p = d.length - 22; p >= 0; p--) if (view.getUint32(p, true) === 0x06054b50) { end = p; break; }
  if (end < 0) return;
  const count = view.getUint16(end + 10, true);
  let p = view.getUint32(end + 16, true);
  for (let i = 0; i < count && view.getUint32(p, true) === 0x02014b50; i++) {
    const flags = view.getUint16(p + 8, true), compressed = view.getUint32(p + 20, true);
    const local = view.getUint32(p + 42, true);
    zero(p + 12, 8); // central directory: time, date, CRC-32
    zero(local + 10, 8); // local header: time, date, CRC-32
    if (flags & 0x08) {
      const data = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
      const desc = data + compressed;
      zero(view.getUint32(desc, true) === 0x08074b50 ? desc + 4 : desc, 4); // data descriptor's CRC-32
    }
    p += 46 + view.getUint16(p + 28, true) + view.getUint16(p + 30, true) + view.getUint16(p + 32, true);
  }
}

/** Every fixture a case reads, by the name cases use for it. */
export type Fixtures = Record<string, string>;

/** Python generators (test/fixtures/make_*.py) run, each into its own folder. */
const GENERATORS = ['make_calibration', 'make_keras', 'make_onnx', 'make_pytorch', 'make_safetensors', 'make_safetensors_shards'] as const;

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [], err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
  });
}

/**
 * Builds every fixture under `dir` with the generators of checkout `root` (the bundled
 * examples are read where they are). All of them are deterministic; `inputHashes` checks that.
 */
export async function buildFixtures(root: string, dir: string): Promise<Fixtures> {
  await Promise.all(GENERATORS.map(async (g) => {
    mkdirSync(join(dir, g), { recursive: true });
    const r = await run(PYTHON, [join(root, 'test/fixtures', `${g}.py`), join(dir, g)], root);
    if (r.code !== 0) throw new Error(`test/fixtures/${g}.py failed: ${r.stderr}`);
  }));
  // A converted-looking TF.js graph model, from the generator the graph tests use.
  const graph = await import(pathToFileURL(join(root, 'test/fixtures/tfjsGraphModels.ts')).href) as { graphMlp(dir: string, widths: number[]): string };
  const g = (name: string, file: string): string => join(dir, name, file);
  return {
    'digits': join(root, 'examples/digits/model.json'),
    'digits-calib': `${join(root, 'examples/digits/calib.npz')}:x`,
    'graph-mlp': graph.graphMlp(join(dir, 'graph'), [64, 96, 48, 10]),
    'mlp.h5': g('make_keras', 'mlp.h5'),
    'mlp.keras': g('make_keras', 'mlp.keras'),
    'calib64': g('make_calibration', 'calib.npy'),
    'transposed.onnx': g('make_calibration', 'transposed.onnx'),
    'mlp.onnx': g('make_onnx', 'mlp.onnx'),
    'cnn.onnx': g('make_onnx', 'cnn.onnx'),
    'fashion-cnn.onnx': join(root, 'examples/fashion-cnn/model.onnx'),
    'mlp.pt': g('make_pytorch', 'mlp.pt'),
    'cnn.pth': g('make_pytorch', 'cnn.pth'),
    'mlp-float32.safetensors': g('make_safetensors', 'mlp-float32.safetensors'),
    'mlp-float16.safetensors': g('make_safetensors', 'mlp-float16.safetensors'),
    'sharded': g('make_safetensors_shards', 'model.safetensors.index.json'),
  };
}

/** The files a fixture consists of (a TF.js model is its JSON and its weight shards; an index, its shards). */
function fixtureFiles(path: string): string[] {
  const file = path.replace(/:[^/]*$/, '');
  const dir = join(file, '..');
  if (file.endsWith('.json')) {
    const json = JSON.parse(readFileSync(file, 'utf8')) as { weightsManifest?: { paths: string[] }[]; weight_map?: Record<string, string> };
    const parts = json.weightsManifest?.flatMap((m) => m.paths) ?? Object.values(json.weight_map ?? {});
    return [file, ...[...new Set(parts)].sort().map((p) => join(dir, p))];
  }
  return [file];
}

/** SHA-256 of each fixture's files (normalised as outputs are), keyed `fixture/file`. */
export function inputHashes(fixtures: Fixtures): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, path] of Object.entries(fixtures)) {
    for (const f of fixtureFiles(path)) {
      const bytes = readFileSync(f);
      out[`${name}/${f.split(sep).pop()}`] = sha256(normaliseBytes(f, bytes));
    }
  }
  return out;
}

export interface Case {
  /** Unique, stable: the key in outputHashes.json. */
  name: string;
  /** Fixture compressed. */
  model: string;
  /** Output file name (-o), in a folder of its own. */
  out: string;
  /** compress flags besides the model, -o, --json and --engine; `@name` stands for a fixture's path. */
  args: string[];
}

// The fixtures' random weights have flat spectra: plain SVD at 0.4 is a deep cut (ranks/deepCuts.ts),
// asked for explicitly; data-aware cases are not held to the rule, so the flag changes none of them.
const RATIO = ['--ratio', '0.4', '--allow-deep-cuts'];
const c = (name: string, model: string, out: string, ...args: string[]): Case => ({ name, model, out, args });

/**
 * The cases: every format × plain SVD at a ratio, f16 and int8 factors, --energy once,
 * whitened SVD with calibration (TF.js layers and graph, Keras, ONNX), a short fine-tuning
 * (TF.js layers, Keras, ONNX) and the ONNX re-layout.
 */
export const CASES: Case[] = [
  // TF.js layers: the bundled digits MLP (committed) and its committed calibration inputs.
  c('tfjs-layers svd', 'digits', 'out.json', ...RATIO),
  c('tfjs-layers svd f16', 'digits', 'out.json', ...RATIO, '--dtype', 'f16'),
  c('tfjs-layers svd int8', 'digits', 'out.json', ...RATIO, '--dtype', 'int8'),
  c('tfjs-layers energy', 'digits', 'out.json', '--energy', '0.9'),
  c('tfjs-layers whitened', 'digits', 'out.json', ...RATIO, '--method', 'whitened', '--calibration', '@digits-calib'),
  c('tfjs-layers whitened finetune', 'digits', 'out.json', ...RATIO, '--method', 'whitened', '--calibration', '@digits-calib', '--finetune', '20'),
  // TF.js graph.
  c('tfjs-graph svd', 'graph-mlp', 'out.json', ...RATIO),
  c('tfjs-graph svd f16', 'graph-mlp', 'out.json', ...RATIO, '--dtype', 'f16'),
  c('tfjs-graph svd int8', 'graph-mlp', 'out.json', ...RATIO, '--dtype', 'int8'),
  c('tfjs-graph whitened', 'graph-mlp', 'out.json', ...RATIO, '--method', 'whitened', '--calibration', '@calib64'),
  // Keras 2 HDF5 (no int8: plain Keras layers load float weights only, and compress refuses it).
  c('keras-h5 svd', 'mlp.h5', 'out.h5', ...RATIO),
  c('keras-h5 svd f16', 'mlp.h5', 'out.h5', ...RATIO, '--dtype', 'f16'),
  c('keras-h5 whitened', 'mlp.h5', 'out.h5', ...RATIO, '--method', 'whitened', '--calibration', '@calib64'),
  c('keras-h5 whitened finetune', 'mlp.h5', 'out.h5', ...RATIO, '--method', 'whitened', '--calibration', '@calib64', '--finetune', '20'),
  // Keras 3 .keras (no int8, as above).
  c('keras svd', 'mlp.keras', 'out.keras', ...RATIO),
  c('keras svd f16', 'mlp.keras', 'out.keras', ...RATIO, '--dtype', 'f16'),
  c('keras whitened', 'mlp.keras', 'out.keras', ...RATIO, '--method', 'whitened', '--calibration', '@calib64'),
  c('keras whitened finetune', 'mlp.keras', 'out.keras', ...RATIO, '--method', 'whitened', '--calibration', '@calib64', '--finetune', '20'),
  // ONNX.
  c('onnx svd', 'mlp.onnx', 'out.onnx', ...RATIO),
  c('onnx svd f16', 'mlp.onnx', 'out.onnx', ...RATIO, '--dtype', 'f16'),
  c('onnx svd int8', 'mlp.onnx', 'out.onnx', ...RATIO, '--dtype', 'int8'),
  c('onnx cnn svd', 'fashion-cnn.onnx', 'out.onnx', ...RATIO),
  c('onnx whitened', 'transposed.onnx', 'out.onnx', ...RATIO, '--method', 'whitened', '--calibration', '@calib64'),
  c('onnx whitened finetune', 'transposed.onnx', 'out.onnx', ...RATIO, '--method', 'whitened', '--calibration', '@calib64', '--finetune', '20'),
  c('onnx relayout', 'cnn.onnx', 'out.onnx', '--ratio', '0.5', '--method', 'relayout'),
  // safetensors, one file and a sharded index.
  c('safetensors svd', 'mlp-float32.safetensors', 'out.safetensors', ...RATIO),
  c('safetensors svd f16', 'mlp-float32.safetensors', 'out.safetensors', ...RATIO, '--dtype', 'f16'),
  c('safetensors svd int8', 'mlp-float32.safetensors', 'out.safetensors', ...RATIO, '--dtype', 'int8'),
  c('safetensors float16 source svd', 'mlp-float16.safetensors', 'out.safetensors', ...RATIO),
  c('safetensors sharded svd', 'sharded', 'out.safetensors.index.json', ...RATIO),
  c('safetensors sharded svd f16', 'sharded', 'out.safetensors.index.json', ...RATIO, '--dtype', 'f16'),
  c('safetensors sharded svd int8', 'sharded', 'out.safetensors.index.json', ...RATIO, '--dtype', 'int8'),
  // PyTorch checkpoints (written as safetensors).
  c('pytorch svd', 'mlp.pt', 'out.safetensors', ...RATIO),
  c('pytorch svd f16', 'mlp.pt', 'out.safetensors', ...RATIO, '--dtype', 'f16'),
  c('pytorch svd int8', 'mlp.pt', 'out.safetensors', ...RATIO, '--dtype', 'int8'),
  c('pytorch cnn svd', 'cnn.pth', 'out.safetensors', ...RATIO),
];

/**
 * A `<out>.report.json` without what legitimately differs run to run or machine to machine:
 * - source and output, absolute paths; `files` keeps its order, each path made relative to the
 *   output folder;
 * - engine, the engine's description, which names the machine's thread count;
 * - on ONNX models, the held-out fidelity numbers of `methodChoice` (top1Agreement,
 *   relativeOutputError of the whitened and plain candidates): the guard measures them in
 *   onnxruntime-node, whose CPU kernels (MLAS) choose their code path by instruction set, so
 *   their last bits are the CPU's, not Reducible's. Which candidate was kept, on how many
 *   samples, and the model it wrote are still compared. (TF.js layers, graph and Keras models,
 *   and ONNX fine-tuning, are measured in TF.js, whose results are the same on every CPU.)
 */
export function normaliseReport(text: string, outDir: string): string {
  const r = JSON.parse(text) as Record<string, unknown>;
  delete r.source;
  delete r.output;
  delete r.engine;
  if (Array.isArray(r.files)) r.files = r.files.map((f: string) => relative(outDir, f).split(sep).join('/'));
  const choice = r.methodChoice as Record<string, Record<string, unknown>> | undefined;
  if (r.format === 'onnx' && choice) {
    for (const candidate of [choice.whitened, choice.svd]) {
      delete candidate?.top1Agreement;
      delete candidate?.relativeOutputError;
    }
  }
  return `${JSON.stringify(r, null, 2)}\n`;
}

export interface CaseResult {
  /** File name (relative to the output folder, `/`-separated) → SHA-256 of its bytes (the report's after normalising). */
  files: Record<string, string>;
  /** Wall time of the CLI run, in seconds. */
  seconds: number;
}

export function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}

/** Runs one case with checkout `root`'s CLI into a fresh folder under `work`; hashes every file it wrote. */
export async function runCase(root: string, fixtures: Fixtures, k: Case, work: string): Promise<CaseResult> {
  const outDir = mkdtempSync(join(work, `${k.name.replace(/\W+/g, '-')}-`));
  const fixture = (name: string): string => {
    const f = fixtures[name];
    if (f === undefined) throw new Error(`case ${k.name}: no fixture ${name}`);
    return f;
  };
  const args = k.args.map((a) => (a.startsWith('@') ? fixture(a.slice(1)) : a));
  const t0 = performance.now();
  // --engine embedded: `auto` would take PyTorch on a machine with a GPU. One CPU: the same bytes under load (oneCpu.ts).
  const [cmd, ...pinned] = [...ONE_CPU, process.execPath];
  const r = await run(cmd, [...pinned, join(root, 'dist/cli.js'), 'compress', fixture(k.model), ...args, '--engine', 'embedded', '-o', join(outDir, k.out), '--json'], root);
  const seconds = (performance.now() - t0) / 1000;
  if (r.code !== 0) throw new Error(`case ${k.name}: compress exited ${r.code}: ${r.stderr.trim().split('\n').slice(-5).join('\n')}`);
  const files: Record<string, string> = {};
  for (const f of listFiles(outDir).sort()) {
    const name = relative(outDir, f).split(sep).join('/');
    files[name] = name.endsWith('.report.json') ? sha256(normaliseReport(readFileSync(f, 'utf8'), outDir)) : sha256(normaliseBytes(name, readFileSync(f)));
  }
  return { files, seconds };
}

/** Runs `cases` with up to `lanes` CLI processes at once; results in the order of `cases`. */
export async function runCases(root: string, fixtures: Fixtures, cases: Case[], work: string, lanes = Math.min(2, availableParallelism())): Promise<CaseResult[]> {
  const results: CaseResult[] = new Array(cases.length);
  let next = 0;
  await Promise.all(Array.from({ length: lanes }, async () => {
    while (next < cases.length) {
      const i = next++;
      results[i] = await runCase(root, fixtures, cases[i], work);
    }
  }));
  return results;
}

export interface Recorded {
  /** Commit the hashes were recorded from, and a note for whoever reads the file. */
  recordedFrom: string;
  note: string;
  /** SHA-256 of every fixture file the cases read (a .keras by its zip entries). */
  inputs: Record<string, string>;
  /** Case name → its command line (for reading) and the SHA-256 of each file it wrote. */
  cases: Record<string, { command: string; files: Record<string, string> }>;
}

export const HASHES = join(import.meta.dirname, 'outputHashes.json');

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The commit checked out at `root`, for the record. */
export function headCommit(root: string): string {
  return spawnSync('git', ['-C', root, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
}
