// Language server under load: a workspace of N small model files of every format, one in
// eight mutated the way the fuzzer does (test/lsp/loadWorkspace.ts), analysed from a cold
// cache while a client hovers the example model.json's layers back to back. Prints hover
// latency (p50 / p95 / max) while the queue drains, how long it took to drain, how the files
// ended, and the server's resident memory (sampled peak, and the kernel's high-water mark).
// Usage: npx tsx bench/lsp/load.ts [--files 500]   (npm run build first)
import { readFileSync } from 'node:fs';
import { HoverRequest } from 'vscode-languageserver-protocol/node';
import { modelsRequest } from '../../shared/protocol.js';
import { fileUri, LspSession } from '../../test/lsp/lspClient.js';
import { makeLoadWorkspace } from '../../test/lsp/loadWorkspace.js';

const arg = (name: string, fallback: number): number => Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) || fallback;
const files = arg('files', 500);
const w = await makeLoadWorkspace(files);

/** Resident memory of the server process, in MiB (VmRSS, or VmHWM for the peak the kernel saw). */
const memMb = (pid: number, field: 'VmRSS' | 'VmHWM'): number => Number(/(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(field))!)![1]) / 1024;

const started = performance.now();
const lsp = await LspSession.start(w.root, {});
const pid = lsp.proc.pid!;
await lsp.open(w.hoverModel);
let drained = false;
void lsp.quiescent(0).then(() => { drained = true; });
const latencies: number[] = [];
let answered = 0, peakRss = 0;
while (!drained) {
  const t = performance.now();
  const h = await lsp.connection.sendRequest(HoverRequest.type, { textDocument: { uri: fileUri(w.hoverModel) }, position: w.hoverPositions[latencies.length % w.hoverPositions.length] });
  latencies.push(performance.now() - t);
  if (h) answered++;
  if (latencies.length % 20 === 0) peakRss = Math.max(peakRss, memMb(pid, 'VmRSS'));
}
const drainS = (performance.now() - started) / 1000;
const summary = await lsp.connection.sendRequest(modelsRequest, undefined);
const states = new Map<string, number>();
for (const m of summary) states.set(m.state, (states.get(m.state) ?? 0) + 1);
const hwm = memMb(pid, 'VmHWM'), endRss = memMb(pid, 'VmRSS');
await lsp.stop();

latencies.sort((a, b) => a - b);
const q = (p: number): string => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))].toFixed(1);
console.log(`${files} model files (+ the example model.json), cold cache; queue drained in ${drainS.toFixed(1)} s`);
console.log(`hovers while draining: ${latencies.length} (${answered} with content) · p50 ${q(0.5)} ms · p95 ${q(0.95)} ms · max ${latencies.at(-1)!.toFixed(1)} ms`);
console.log(`files: ${[...states].map(([s, n]) => `${n} ${s}`).join(', ')}`);
console.log(`server RSS: peak sampled ${peakRss.toFixed(0)} MiB, high-water ${hwm.toFixed(0)} MiB, at the end ${endRss.toFixed(0)} MiB`);
