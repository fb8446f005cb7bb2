// Time from a global budget change to every layer's rank shown in the built tradeoff panel
// (dist/webview.js in Chromium, test/webview's harness), for 200 and 500 layers. Issue target:
// ≤ 16 ms for 200 layers. Per move: the input event's handler (allocation, table, totals,
// charts), then the style and layout it causes, forced by reading a layout property. Rows
// "+ 3 evaluations" have the measured-fidelity chart shown as well.
// Run: node scripts/build.mjs && npx tsx bench/panel/run.ts
import type { EvalReport } from '../../shared/panelProtocol.js';
import { analysisFixture } from '../../test/webview/fixture.js';
import { launchChromium, Panel } from '../../test/webview/harness.js';

const MOVES = 200;

// Source text, not a function: see STUB_HOST in test/webview/harness.ts.
const DRAG = `async (moves) => {
  const slider = document.getElementById('budget');
  const script = [], total = [];
  for (let i = 0; i < moves + 5; i++) {
    // A drag across the range in 0.5 % steps, back and forth.
    slider.value = String(5 + Math.abs(((i * 0.5) % 180) - 90));
    const t0 = performance.now();
    slider.dispatchEvent(new Event('input', { bubbles: true }));
    const t1 = performance.now();
    void document.body.offsetHeight;
    const t2 = performance.now();
    if (i >= 5) { script.push(t1 - t0); total.push(t2 - t0); }
    // Let the page breathe between moves, as between a user's input events.
    await new Promise((r) => setTimeout(r, 0));
  }
  return { script, total };
}`;

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

const browser = await launchChromium();
try {
  console.log('| layers | handler p50 / p90 (ms) | handler + layout p50 / p90 (ms) |');
  console.log('|---:|---:|---:|');
  for (const [count, evaluations] of [[200, 0], [500, 0], [200, 3]]) {
    const panel = await Panel.open(browser);
    const analysis = analysisFixture(count);
    await panel.load(analysis);
    for (let i = 1; i <= evaluations; i++) {
      const side = (params: number, accuracy: number) => ({ path: `/models/${i}.onnx`, format: 'onnx' as const, params, bytes: params * 4, accuracy });
      const report: EvalReport = {
        original: side(analysis.totalParams, 0.9), compressed: side(Math.round(analysis.totalParams * i / 4), 0.9 - 0.1 / i),
        samples: 1000, inputsFrom: 'file', top1Agreement: 0.9, relativeOutputError: 0.1,
      };
      await panel.send({ type: 'evaluation', output: `/models/${i}.onnx`, evaluation: { state: 'done', report } });
    }
    const { script, total } = await panel.page.evaluate(`(${DRAG})(${MOVES})`) as { script: number[]; total: number[] };
    const f = (v: number) => v.toFixed(1);
    console.log(`| ${count}${evaluations ? ` + ${evaluations} evaluations` : ''} | ${f(pct(script, 0.5))} / ${f(pct(script, 0.9))} | ${f(pct(total, 0.5))} / ${f(pct(total, 0.9))} |`);
    await panel.page.close();
  }
} finally {
  await browser.close();
}
