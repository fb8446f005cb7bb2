// Language-server responsiveness: hover latency on model.json layers with a warm cache,
// against the round trip of a request the server answers without work (a hover outside
// any layer) measured on the same connection in the same run; and the first analysis of
// the example workspace, cold cache versus warm (persisted) cache.
// Usage: npx tsx bench/lsp/hover.ts [--hovers N]   (npm run build first)
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HoverRequest, type Position } from 'vscode-languageserver-protocol/node';
import { tempDir } from '../../test/helpers/cli.js';
import { fileUri, LspSession } from '../../test/lsp/lspClient.js';

const hovers = Number(process.argv[process.argv.indexOf('--hovers') + 1]) || 1000;
const ws = tempDir('reducible-bench-lsp-');
const storage = tempDir('reducible-bench-lsp-cache-');
mkdirSync(join(ws, 'fashion'));
const model = join(ws, 'fashion', 'model.json');
copyFileSync('examples/fashion-mnist/model.json', model);
copyFileSync('examples/fashion-mnist/weights.bin', join(ws, 'fashion', 'weights.bin'));
const text = readFileSync(model, 'utf8');

function positionAt(offset: number): Position {
  const lines = text.slice(0, offset).split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1].length };
}

async function firstAnalysis(): Promise<{ ms: number; lsp: LspSession }> {
  const t = performance.now();
  const lsp = await LspSession.start(ws, { storagePath: storage });
  await lsp.quiescent(0);
  return { ms: performance.now() - t, lsp };
}

async function latencies(lsp: LspSession, positions: Position[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < hovers; i++) {
    const t = performance.now();
    await lsp.connection.sendRequest(HoverRequest.type, { textDocument: { uri: fileUri(model) }, position: positions[i % positions.length] });
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

const pct = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];

const cold = await firstAnalysis();
await cold.lsp.stop();
const { ms: warmMs, lsp } = await firstAnalysis();
await lsp.open(model);
const layers = [...text.matchAll(/"name"\s*:\s*"(dense_\d+|logits)"/g)].map((m) => positionAt(m.index + 3));
const outside = [positionAt(text.indexOf('"weightsManifest"') + 2)];
await latencies(lsp, layers.slice(0, 1)); // warm-up: JIT and the first site computation
const hover = await latencies(lsp, layers);
const reference = await latencies(lsp, outside);
await lsp.stop();

const row = (name: string, xs: number[]): string => `${name.padEnd(28)} p50 ${pct(xs, 0.5).toFixed(2).padStart(7)} ms   p95 ${pct(xs, 0.95).toFixed(2).padStart(7)} ms`;
console.log(`hover latency over ${hovers} requests (warm cache, ${layers.length} layers in model.json)`);
console.log(row('hover on a layer', hover));
console.log(row('reference: hover on no layer', reference));
console.log(`ratio p95 layer / reference: ${(pct(hover, 0.95) / pct(reference, 0.95)).toFixed(2)}×   target p95 ≤ 50 ms: ${pct(hover, 0.95) <= 50 ? 'met' : 'MISSED'}`);
console.log(`workspace ready (start → first quiescent status): cold cache ${cold.ms.toFixed(0)} ms, persisted cache ${warmMs.toFixed(0)} ms (${(cold.ms / warmMs).toFixed(2)}× faster)`);
