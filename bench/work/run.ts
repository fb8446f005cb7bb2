// Work one compression does, counted before and after the refactor of issue 17 (its judging bar:
// "full model writes, onnxruntime sessions opened, spectra computed, file reads … each must fall
// (model opened once, analysed once)"), on the ONNX Fashion-MNIST CNN with `--method whitened` at 0.34.
//
// Nothing in core is instrumented: each checkout's CLI runs from its TypeScript sources as a child
// process with a preload (counters.ts) that patches onnxruntime-node's InferenceSession.create, the
// node:fs calls that open files, and the embedded engine's spectrum / truncatedSvd, and writes the
// counts with the call site of each counted call. Both checkouts run the same command:
//   node --import tsx --import bench/work/counters.ts <checkout>/cli/main.ts compress
//        examples/fashion-cnn/model.onnx --ratio 0.34 --method whitened --calibration <N inputs>.npy -o <tmp>/out.onnx --json
// (in the checkout's folder), one after the other, after a check that the spectrum patch counts:
// a plain `analyze` must count exactly one spectrum per layer.
//
// Run: npx tsx bench/work/run.ts [--baseline /path/to/other/checkout] [--after /path] [--inputs 1000]
//        [--retries N] [--retry-wait S] [--no-check] [--results bench/work/RESULTS.md]
// The baseline defaults to /work/baseline if it exists, else a git worktree at 545108d (the commit
// before the refactor); make one with `git worktree add ../baseline 545108d` and a node_modules symlink.
// Exit status: 0 when every judged counter fell, 1 when one did not, 2 when a run failed.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import type { Counts } from './counters.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const COUNTERS = join(HERE, 'counters.ts');
const BASE_COMMIT = '545108d';
const MODEL = 'examples/fashion-cnn/model.onnx';
const CALIBRATION = 'examples/fashion-mnist/calib.npz';

// ---- arguments -----------------------------------------------------------------------------
const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const after = resolve(opt('--after') ?? join(HERE, '../..'));
const inputs = Number(opt('--inputs') ?? 1000);
const retries = Number(opt('--retries') ?? 0);
const retryWait = Number(opt('--retry-wait') ?? 180);
const check = !argv.includes('--no-check');
const resultsFile = opt('--results');
const baseline = resolve(opt('--baseline') ?? defaultBaseline());

function defaultBaseline(): string {
  if (existsSync('/work/baseline/cli/main.ts')) return '/work/baseline';
  try {
    const list = execFileSync('git', ['-C', after, 'worktree', 'list', '--porcelain'], { encoding: 'utf8' });
    const full = execFileSync('git', ['-C', after, 'rev-parse', BASE_COMMIT], { encoding: 'utf8' }).trim();
    for (const block of list.split('\n\n')) {
      const path = /^worktree (.+)$/m.exec(block)?.[1];
      if (path && block.includes(`HEAD ${full}`)) return path;
    }
  } catch { /* fall through */ }
  console.error(`no baseline checkout: pass --baseline, or make one with\n  git worktree add /work/baseline ${BASE_COMMIT} && ln -s ${join(after, 'node_modules')} /work/baseline/node_modules`);
  process.exit(2);
}

// ---- helpers -------------------------------------------------------------------------------
const git = (dir: string, ...a: string[]): string => {
  try { return execFileSync('git', ['-C', dir, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return '?'; }
};
const sha256 = (file: string): string => (existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : '(none)');
const load = (): string => loadavg().map((v) => v.toFixed(2)).join(' / ');
const sleep = (s: number): Promise<void> => new Promise((r) => setTimeout(r, s * 1000));

/** The first `n` rows of the committed calibration inputs, as a .npy both checkouts read. */
function calibration(dir: string, n: number): string {
  const entries = unzipSync(readFileSync(join(after, CALIBRATION)));
  const bytes = entries['x.npy'];
  if (!bytes) throw new Error(`${CALIBRATION} has no x.npy`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLen = major >= 2 ? dv.getUint32(8, true) : dv.getUint16(8, true);
  const start = (major >= 2 ? 12 : 10) + headerLen;
  const header = new TextDecoder().decode(bytes.subarray(major >= 2 ? 12 : 10, start));
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)![1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!/'descr':\s*'\|u1'/.test(header) || shape.length !== 2) throw new Error(`${CALIBRATION}:x: expected uint8 [n, 784], got ${header}`);
  const rows = Math.min(n, shape[0]);
  let h = `{'descr': '|u1', 'fortran_order': False, 'shape': (${rows}, ${shape[1]}), }`;
  h += ' '.repeat((64 - ((10 + h.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + h.length + rows * shape[1]);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, h.length, true);
  out.set(new TextEncoder().encode(h), 10);
  out.set(bytes.subarray(start, start + rows * shape[1]), 10 + h.length);
  const file = join(dir, `calib-${rows}.npy`);
  writeFileSync(file, out);
  return file;
}

interface Run { rc: number | null; stdout: string; stderr: string; wallS: number; loadBefore: string; loadAfter: string; counts: Counts }

/** The checkout's CLI with the counting preload; counts from every process it started, summed. */
async function runCli(checkout: string, args: string[], scratch: string): Promise<Run> {
  const countsDir = mkdtempSync(join(scratch, 'counts-'));
  const loadBefore = load();
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', COUNTERS, join(checkout, 'cli/main.ts'), ...args], {
    cwd: checkout,
    env: { ...process.env, WORK_COUNTS_DIR: countsDir, WORK_CHECKOUT: checkout, WORK_MODEL: join(checkout, MODEL) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const rc = await new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const wallS = (performance.now() - t0) / 1000;
  const counts: Counts = { pid: child.pid ?? 0, argv: args, counters: {}, sites: {}, modelWrites: [], notes: [] };
  for (const f of readdirSync(countsDir).filter((n) => n.startsWith('counts.'))) {
    const c = JSON.parse(readFileSync(join(countsDir, f), 'utf8')) as Counts;
    for (const [k, v] of Object.entries(c.counters)) counts.counters[k] = (counts.counters[k] ?? 0) + v;
    for (const [k, sites] of Object.entries(c.sites)) for (const [s, v] of Object.entries(sites)) (counts.sites[k] ??= {})[s] = (counts.sites[k][s] ?? 0) + v;
    counts.modelWrites.push(...c.modelWrites);
    counts.notes.push(...c.notes.filter((n) => !counts.notes.includes(n)));
  }
  return { rc, stdout, stderr, wallS, loadBefore, loadAfter: load(), counts };
}

/** The JSON document a `--json` run printed (the whole stdout, else its last line that parses). */
function parseJson(stdout: string): Record<string, unknown> | undefined {
  try { return JSON.parse(stdout) as Record<string, unknown>; } catch { /* lines */ }
  for (const line of stdout.trim().split('\n').reverse()) {
    try { const v = JSON.parse(line) as unknown; if (v && typeof v === 'object') return v as Record<string, unknown>; } catch { /* next */ }
  }
  return undefined;
}

// ---- the runs ------------------------------------------------------------------------------
interface Side { label: 'before' | 'after'; checkout: string; commit: string; tree: string; check?: string; run?: Run; out: string; report?: Record<string, unknown> }

const scratch = mkdtempSync(join(tmpdir(), 'reducible-bench-work-'));
const lines: string[] = [];
const say = (s = ''): void => { console.log(s); lines.push(s); };
let failed = false;

try {
  const calib = calibration(scratch, inputs);
  const sides: Side[] = [
    { label: 'before', checkout: baseline, commit: git(baseline, 'rev-parse', 'HEAD'), tree: '', out: join(scratch, 'before', 'out.onnx') },
    { label: 'after', checkout: after, commit: git(after, 'rev-parse', 'HEAD'), tree: '', out: join(scratch, 'after', 'out.onnx') },
  ];
  for (const s of sides) {
    const changed = git(s.checkout, 'status', '--porcelain', '--untracked-files=no').split('\n').filter(Boolean).length;
    s.tree = changed ? `HEAD + ${changed} uncommitted change${changed > 1 ? 's' : ''} in the working tree (diff ${createHash('sha256').update(git(s.checkout, 'diff', 'HEAD')).digest('hex').slice(0, 12)})` : 'clean';
  }
  const command = `compress ${MODEL} --ratio 0.34 --method whitened --calibration ${calib.replace(scratch, '<tmp>')} -o <tmp>/{before,after}/out.onnx --json`;

  for (const s of sides) {
    if (check) {
      // The spectrum patch must really count: a plain analyze computes one spectrum per layer.
      const a = await runCli(s.checkout, ['analyze', MODEL, '--json'], scratch);
      const layers = (parseJson(a.stdout)?.layers as unknown[] | undefined)?.length ?? 0;
      const spectra = a.counts.counters['spectra computed (engine.spectrum)'] ?? 0;
      s.check = a.rc !== 0 ? `analyze failed (exit ${a.rc}): ${a.stderr.trim().split('\n').slice(-3).join(' | ')}`
        : spectra > 0 && spectra === layers ? `ok: plain analyze counted ${spectra} spectra for ${layers} layers`
          : `NOT OK: plain analyze counted ${spectra} spectra for ${layers} layers (${a.counts.notes.join('; ')})`;
      console.error(`[${s.label}] ${s.check}`);
    }
    for (let attempt = 0; ; attempt++) {
      rmSync(dirname(s.out), { recursive: true, force: true });
      mkdirSync(dirname(s.out), { recursive: true });
      console.error(`[${s.label}] compressing (${s.checkout}, load ${load()}) …`);
      s.run = await runCli(s.checkout, ['compress', MODEL, '--ratio', '0.34', '--method', 'whitened', '--calibration', calib, '-o', s.out, '--json'], scratch);
      console.error(`[${s.label}] exit ${s.run.rc} in ${s.run.wallS.toFixed(1)} s`);
      if (s.run.rc === 0 || attempt >= retries) break;
      console.error(`[${s.label}] failed:\n${s.run.stderr.trim().split('\n').slice(-8).join('\n')}\nretrying in ${retryWait} s`);
      await sleep(retryWait);
    }
    s.report = parseJson(s.run.stdout);
  }

  // ---- the table ---------------------------------------------------------------------------
  const [b, a] = sides as [Required<Side>, Required<Side>];
  say(`# Work counted: ONNX Fashion-MNIST CNN, --method whitened at --ratio 0.34, ${inputs} calibration inputs`);
  say();
  say(`before: ${b.checkout} at ${b.commit} (${b.tree})`);
  say(`after:  ${a.checkout} at ${a.commit} (${a.tree})`);
  say(`model:  ${MODEL} (sha256 ${sha256(join(b.checkout, MODEL)).slice(0, 12)} before, ${sha256(join(a.checkout, MODEL)).slice(0, 12)} after)`);
  say(`reproduce: npx tsx bench/work/run.ts --baseline <a checkout of ${BASE_COMMIT}> --inputs ${inputs}`);
  say(`command (in each checkout): node --import tsx --import bench/work/counters.ts cli/main.ts ${command}`);
  for (const s of [b, a]) {
    say(`${s.label}: exit ${s.run.rc}, wall ${s.run.wallS.toFixed(1)} s, load average (1/5/15 min) ${s.run.loadBefore} at start, ${s.run.loadAfter} at end` +
      `${s.check ? `; patch check: ${s.check}` : ''}`);
    if (s.run.rc !== 0) { failed = true; say(`  ${s.label} failed: ${s.run.stderr.trim().split('\n').slice(-6).join('\n  ')}`); }
  }
  say();
  const judged: [string, string][] = [
    ['full model writes', 'full model writes (.onnx files written: output, variants, temporaries)'],
    ['onnxruntime sessions opened', 'onnxruntime sessions opened'],
    ['spectra computed (engine.spectrum)', 'spectra computed (engine.spectrum)'],
    ['source model opened for reading', 'file reads: source model opened (node fs)'],
  ];
  const informative: [string, string][] = [
    ['onnxruntime sessions from a path', '  … sessions from a path (onnxruntime reads the file)'],
    ['onnxruntime sessions on the source model', '  … sessions on the source model file'],
    ['onnxruntime sessions on a written variant', '  … sessions on a written variant'],
    ['onnxruntime sessions from bytes', '  … sessions from bytes in memory'],
    ['.onnx files opened for reading (node fs)', 'any .onnx file opened for reading (node fs)'],
    ['source model read calls', 'source model read calls'],
    ['source model bytes read', 'source model bytes read'],
    ['truncated SVDs (engine.truncatedSvd)', 'truncated SVDs (engine.truncatedSvd)'],
    ['scratch files created', 'scratch files created'],
  ];
  const v = (s: Required<Side>, k: string): number => s.run.counts.counters[k] ?? 0;
  const notFallen: string[] = [];
  say('| counter | before | after | ratio | |');
  say('|---|---:|---:|---:|---|');
  for (const [k, title] of [...judged, ...informative]) {
    const x = v(b, k), y = v(a, k);
    const isJudged = judged.some(([j]) => j === k);
    const verdict = !isJudged ? '' : y < x ? 'fell' : 'DID NOT FALL';
    if (isJudged && !(y < x)) notFallen.push(title);
    say(`| ${isJudged ? `**${title}**` : title} | ${x} | ${y} | ${x ? (y / x).toFixed(2) : '–'} | ${verdict} |`);
  }
  say(`| wall time (s) | ${b.run.wallS.toFixed(1)} | ${a.run.wallS.toFixed(1)} | ${(a.run.wallS / b.run.wallS).toFixed(2)} | load ${b.run.loadBefore} → ${a.run.loadAfter} |`);
  say();
  const ranks = (s: Required<Side>): string => JSON.stringify(((s.report?.layers ?? []) as { name: string; rank: number }[]).map((l) => `${l.name}:${l.rank}`));
  const same = sha256(b.out) === sha256(a.out);
  say(`outputs: ${same ? 'byte-identical' : 'DIFFER'} (sha256 ${sha256(b.out).slice(0, 12)} before, ${sha256(a.out).slice(0, 12)} after); ` +
    `compressedParams ${String(b.report?.compressedParams)} → ${String(a.report?.compressedParams)}; ranks ${ranks(b)} → ${ranks(a)}`);
  say(notFallen.length ? `did not fall: ${notFallen.join('; ')}` : 'every judged counter fell');
  say();

  // ---- where the work comes from -----------------------------------------------------------
  say('## Call sites (count × stack inside the checkout, innermost first)');
  for (const kind of ['full model writes', 'onnxruntime sessions opened', 'spectra computed (engine.spectrum)', 'source model opened for reading', 'truncated SVDs (engine.truncatedSvd)']) {
    for (const s of [b, a]) {
      const sites = Object.entries(s.run.counts.sites[kind] ?? {}).sort((p, q) => q[1] - p[1]);
      say(`${s.label} — ${kind}: ${v(s, kind)}`);
      for (const [site, n] of sites) say(`  ${n} × ${site}`);
    }
  }
  say();
  say('model files written:');
  for (const s of [b, a]) for (const f of s.run.counts.modelWrites) say(`  ${s.label}: ${f.replace(scratch, '<tmp>')}`);
  say(`patches: before: ${b.run.counts.notes.join('; ')}`);
  say(`         after:  ${a.run.counts.notes.join('; ')}`);
  if (resultsFile) writeFileSync(resolve(resultsFile), `${lines.join('\n')}\n`);
  process.exitCode = failed ? 2 : notFallen.length ? 1 : 0;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
