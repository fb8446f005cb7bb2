// The built tradeoff panel in Chromium, driven as a user would, checked against the core.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { makePlan, readPlanJson } from '../../core/compress/plan.js';
import type { CompressReport } from '../../core/compress/report.js';
import { formatModule } from '../../core/formats/registry.js';
import { suggestedRank } from '../../core/ranks/ranks.js';
import { contentSecurityPolicy } from '../../client/panel/html.js';
import { expectedAllocation } from './expected.js';
import { cumulativeEnergy } from '../../core/ranks/ranks.js';
import { DEEP_CUT_ENERGY } from '../../core/ranks/deepCuts.js';
import { analysisFixture } from './fixture.js';
import type { EvalReport, PanelViewState } from '../../shared/panelProtocol.js';
import { BUNDLE, launchChromium, Panel, type Browser } from './harness.js';
import { DARK, HIGH_CONTRAST, LIGHT, rgb } from './themes.js';

const analysis = analysisFixture(200);
const ARTIFACTS = '.test-artifacts';

/** Fails when the table or any chart has nothing in it. */
async function assertNotEmpty(panel: Panel): Promise<void> {
  const rows = await panel.page.$$eval('table.layers tbody tr:not([hidden])', (trs) => trs.map((tr) => tr.textContent ?? ''));
  assert.ok(rows.length > 0, 'the table has rows');
  assert.ok(rows.every((t) => t.trim() !== ''), 'every row has content');
  const charts = await panel.page.$$eval('svg.chart', (svgs) => svgs.map((s) => ({
    title: s.getAttribute('aria-label'),
    points: [...s.querySelectorAll('polyline')].map((p) => (p.getAttribute('points') ?? '').trim().split(/\s+/).filter(Boolean).length),
  })));
  assert.equal(charts.length, 3, 'spectrum, energy and whole-model charts');
  for (const c of charts) assert.ok(c.points.length > 0 && c.points.every((n) => n >= 2), `${c.title} has a line`);
}

describe('tradeoff panel (built bundle in Chromium)', () => {
  let browser: Browser;
  let opened: Panel[] = [];
  const open = async (state?: PanelViewState) => {
    const panel = await Panel.open(browser, state);
    opened.push(panel);
    return panel;
  };
  before(async () => { browser = await launchChromium(); });
  after(async () => { await browser?.close(); });
  // Whatever a test did, the page must not have broken its CSP or thrown.
  afterEach(async () => {
    for (const panel of opened) {
      assert.deepEqual((await panel.host()).violations, [], 'CSP violations');
      assert.deepEqual(panel.errors, [], 'page errors');
      await panel.page.close();
    }
    opened = [];
  });

  test('renders all 200 layers, the header and three non-empty charts, under a strict CSP', async () => {
    assert.ok(statSync(BUNDLE).size <= 400 * 1024, 'bundle ≤ 400 KB');
    const panel = await open();
    await panel.load(analysis);
    assert.equal(await panel.page.locator('table.layers tbody tr').count(), 200);
    // Rows are laid out as grids; the explicit roles keep them a table for assistive technology.
    const table = panel.page.getByRole('table', { name: 'Layers' });
    assert.equal(await table.getByRole('row').count(), 201);
    assert.equal(await table.getByRole('columnheader').count(), 10);
    assert.equal(await table.getByRole('row').nth(1).getByRole('cell').count(), 10);
    assert.equal(await panel.page.textContent('dd[data-fact="params"]'), analysis.totalParams.toLocaleString('en-US'));
    assert.equal(await panel.page.textContent('dd[data-fact="format"]'), 'onnx');
    assert.equal(await panel.page.textContent('dd[data-fact="engine"]'), 'wasm');
    await assertNotEmpty(panel);
    const dense = analysis.layers.filter((l) => !l.factorisable).map((l) => l.name);
    for (const name of dense) {
      assert.match(await panel.page.textContent(`tr[data-name="${name}"] .rank-text`) ?? '', /^dense/);
    }
    const csp = contentSecurityPolicy({ cspSource: 'x', scriptUri: 'x', nonce: 'n' });
    assert.doesNotMatch(csp, /unsafe/);
  });

  test('the global budget (slider by keyboard, then numeric field) sets ranks and totals to allocate()', async () => {
    const panel = await open();
    await panel.load(analysis);
    const expect = async (keep: number) => {
      const want = expectedAllocation(analysis, keep);
      assert.deepEqual(await panel.ranks(), want.ranks);
      assert.equal(await panel.total('params'), want.params);
      assert.equal(await panel.total('f32'), want.params * 4);
      assert.equal(await panel.total('f16'), want.bytes.f16);
      assert.equal(await panel.total('int8'), want.bytes.int8);
      assert.equal(want.bytes.f32, want.params * 4);
    };
    await expect(0.5);
    const slider = panel.page.locator('#budget');
    await slider.focus();
    for (let i = 0; i < 20; i++) await panel.page.keyboard.press('ArrowLeft'); // 0.5 % a step
    assert.equal(await slider.getAttribute('aria-valuetext'), 'keep 40.0 % of parameters');
    await expect(0.4);
    await panel.page.locator('#budget-value input').fill('12.5');
    await panel.page.keyboard.press('Enter');
    await expect(0.125);
    assert.equal(await slider.inputValue(), '12.5');
    const error = await panel.total('error');
    assert.ok(error > 0 && error < 1, `proxy error ${error}`);
    // The deep-cut warning shows exactly when a layer is past the rule.
    const { ranks } = expectedAllocation(analysis, 0.125);
    const deep = analysis.layers.some((l) => ranks.get(l.name)! < Math.min(l.rows, l.cols) && cumulativeEnergy(l.singularValues)[ranks.get(l.name)!] < DEEP_CUT_ENERGY);
    const warning = panel.page.locator('#deep-cuts');
    assert.equal(await warning.isVisible(), deep);
    // Below the smallest reachable size the panel says so instead of missing the budget silently.
    await panel.page.locator('#budget-value input').fill('1');
    await panel.page.keyboard.press('Enter');
    assert.ok(await panel.total('keep') > 0.01);
    assert.match(await panel.page.textContent('#budget-hint') ?? '', /smallest reachable is \d/);
    assert.ok(await warning.isVisible(), 'every layer at rank 1 is a deep cut');
    assert.match(await warning.textContent() ?? '', /^Plain SVD cuts \d+ layers below 70 % of their energy \(\w+/);
  });

  test('a per-layer override pins that layer and the rest are re-allocated around it', async () => {
    const panel = await open();
    await panel.load(analysis);
    const layer = analysis.layers.find((l) => l.factorisable && l.breakEvenRank > 10)!;
    const row = panel.page.locator(`tr[data-name="${layer.name}"]`);
    await row.locator('input[type=range]').focus();
    await panel.page.keyboard.press('Home');
    assert.equal(await row.getAttribute('data-rank'), '1');
    assert.match(await row.getAttribute('class') ?? '', /\bpinned\b/);
    assert.equal(await row.locator('input[type=range]').getAttribute('aria-valuetext'), 'rank 1');
    assert.deepEqual((await panel.host()).state?.pins, { [layer.name]: 1 });
    const want = expectedAllocation(analysis, 0.5, { [layer.name]: 1 });
    assert.deepEqual(await panel.ranks(), want.ranks);
    assert.equal(await panel.total('params'), want.params);
    // The charts follow the layer being edited.
    assert.match(await panel.page.getAttribute('svg.chart >> nth=0', 'aria-label') ?? '', new RegExp(layer.name.replace('/', '\\/')));

    // A rank past break-even cannot pay, so typing one means dense.
    await row.locator('input.rank-number').fill(String(layer.breakEvenRank + 1));
    await panel.page.keyboard.press('Enter');
    assert.equal(await row.getAttribute('data-rank'), String(Math.min(layer.rows, layer.cols)));
    assert.match(await row.locator('.rank-text').textContent() ?? '', /^dense \(pinned\)/);

    await row.locator('button.unpin').click();
    assert.deepEqual((await panel.host()).state?.pins, {});
    assert.deepEqual(await panel.ranks(), expectedAllocation(analysis, 0.5).ranks);
  });

  test('the energy goal gives every free layer its energy rank', async () => {
    const panel = await open();
    await panel.load(analysis);
    await panel.page.locator('vscode-radio[value="energy"]').click();
    await panel.page.locator('#budget-value input').fill('95');
    await panel.page.keyboard.press('Enter');
    const ranks = await panel.ranks();
    for (const l of analysis.layers) {
      const want = l.factorisable ? suggestedRank(l.singularValues, l.rows, l.cols, 0.95) : Math.min(l.rows, l.cols);
      assert.equal(ranks.get(l.name), want, l.name);
    }
  });

  test('sorting and filtering the table', async () => {
    const panel = await open();
    await panel.load(analysis);
    const names = () => panel.page.$$eval('table.layers tbody tr:not([hidden])', (trs) => trs.map((t) => t.getAttribute('data-name')));
    const params = new Map(analysis.layers.map((l, i) => [l.name, [l.params, i] as const]));
    const byParams = [...analysis.layers].sort((a, b) => a.params - b.params || params.get(a.name)![1] - params.get(b.name)![1]).map((l) => l.name);
    await panel.page.locator('th[data-key="params"] button').click();
    assert.deepEqual(await names(), byParams);
    assert.equal(await panel.page.getAttribute('th[data-key="params"]', 'aria-sort'), 'ascending');
    await panel.page.locator('th[data-key="params"] button').click();
    assert.equal(await panel.page.getAttribute('th[data-key="params"]', 'aria-sort'), 'descending');
    assert.deepEqual((await names()).map((n) => params.get(n!)![0]), [...byParams].map((n) => params.get(n)![0]).reverse());
    await panel.page.locator('vscode-textfield[aria-label="Filter layers"] input').fill('depthwise');
    assert.deepEqual((await names()).sort(), analysis.layers.filter((l) => l.kind === 'depthwise').map((l) => l.name).sort());
  });

  test('keyboard: Tab reaches every kind of control and Enter/Space act on them', async () => {
    const panel = await open();
    await panel.load(analysis);
    const focused = () => panel.page.evaluate(() => {
      const host = document.activeElement;
      const el = host?.shadowRoot?.activeElement ?? host;
      if (!host || !el) return '';
      const id = host.id || host.getAttribute('value') || host.getAttribute('aria-label') || '';
      return `${host.tagName.toLowerCase()}${id ? `:${id}` : ''}${el.closest('th') ? `:${el.closest('th')!.getAttribute('data-key')}` : ''}`;
    });
    const seen: string[] = [];
    for (let i = 0; i < 22; i++) {
      await panel.page.keyboard.press('Tab');
      seen.push(await focused());
    }
    const first = analysis.layers[0].name;
    for (const want of ['vscode-radio:ratio', 'input:budget', 'vscode-textfield:budget-value', 'vscode-radio:f32', 'vscode-button:compress',
      'vscode-button:export-plan', 'vscode-textfield:Filter layers', 'button:params', 'button', `input:Rank of ${first}`]) {
      assert.ok(seen.includes(want), `Tab reaches ${want} (saw ${seen.join(', ')})`);
    }
    await panel.page.locator('th[data-key="name"] button').focus();
    await panel.page.keyboard.press('Space');
    assert.equal(await panel.page.getAttribute('th[data-key="name"]', 'aria-sort'), 'ascending');
    const layer = analysis.layers[17].name;
    await panel.page.locator(`tr[data-name="${layer}"] button.link`).focus();
    await panel.page.keyboard.press('Enter');
    assert.equal(await panel.page.getAttribute(`tr[data-name="${layer}"]`, 'aria-current'), 'true');
    await panel.page.locator('vscode-radio[value="ratio"]').focus();
    await panel.page.keyboard.press('ArrowRight');
    assert.equal((await panel.host()).state?.goal, 'energy');
  });

  test('Compress and Export plan post the plan the table shows with the chosen precision, in the form `--ranks` reads', async () => {
    const panel = await open();
    await panel.load(analysis);
    const shown = await panel.ranks();
    const chosen = () => panel.page.$$eval('.totals > div.chosen dd', (dds) => dds.map((d) => d.getAttribute('data-total')));
    // The fixture is stored in float32, so that is where the precision starts.
    assert.equal(await panel.page.locator('vscode-radio[name="dtype"][value="f32"]').evaluate((r) => (r as HTMLInputElement).checked), true);
    assert.deepEqual(await chosen(), ['f32']);
    await panel.page.locator('#compress').click();
    // By keyboard: the arrow keys move the choice to f16, then int8.
    await panel.page.locator('vscode-radio[name="dtype"][value="f32"]').focus();
    await panel.page.keyboard.press('ArrowRight');
    await panel.page.keyboard.press('ArrowRight');
    assert.deepEqual(await chosen(), ['int8']);
    assert.equal((await panel.host()).state?.dtype, 'int8');
    await panel.page.locator('#export-plan').click();
    await panel.page.locator('vscode-radio[name="dtype"][value="f16"]').click();
    // The method starts at plain SVD; whitened + fine-tuning goes with the next Compress.
    assert.equal(await panel.page.locator('vscode-radio[name="method"][value="svd"]').evaluate((r) => (r as HTMLInputElement).checked), true);
    await panel.page.locator('vscode-radio[name="method"][value="whitened+finetune"]').click();
    await panel.page.locator('#compress').click();
    // Re-layout is offered for this ONNX model; it gets the plan's budget.
    assert.equal(await panel.page.locator('vscode-radio[name="method"][value="relayout"]').isVisible(), true);
    await panel.page.locator('vscode-radio[name="method"][value="relayout"]').click();
    await panel.page.locator('#compress').click();
    await panel.page.locator('vscode-radio[name="method"][value="whitened+finetune"]').click();
    const posted = (await panel.host()).posted.filter((m) => m.type !== 'ready');
    const factorisable = analysis.layers.filter((l) => l.factorisable).map((l) => l.name);
    const layers = Object.fromEntries(factorisable.map((n) => [n, shown.get(n)!]));
    const keep = Number(await panel.page.locator('dd[data-total="keep"]').getAttribute('data-value'));
    assert.ok(keep > 0 && keep < 1, `keep ${keep}`);
    assert.deepEqual(posted, [
      // Nothing chosen yet: no dtype, so the CLI keeps the model's precision.
      { type: 'compress', plan: { layers }, method: 'svd', keep },
      // The plan file holds ranks and precision only: the method is how Compress uses it.
      { type: 'exportPlan', plan: { layers, dtype: 'int8' } },
      { type: 'compress', plan: { layers, dtype: 'f16' }, method: 'whitened+finetune', keep },
      { type: 'compress', plan: { layers, dtype: 'f16' }, method: 'relayout', keep },
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'reducible-plan-'));
    try {
      writeFileSync(join(dir, 'plan.json'), JSON.stringify({ layers, dtype: 'int8' }));
      assert.deepEqual(await makePlan(analysis, { kind: 'ranks', file: join(dir, 'plan.json') }), new Map(Object.entries(layers)));
      assert.equal((await readPlanJson(join(dir, 'plan.json'))).dtype, 'int8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The choice outlives a reload.
    const again = await open((await panel.host()).state);
    await again.load(analysis);
    assert.deepEqual(await again.page.$$eval('.totals > div.chosen dd', (dds) => dds.map((d) => d.getAttribute('data-total'))), ['f16']);
    assert.equal(await again.page.locator('vscode-radio[name="method"][value="whitened+finetune"]').evaluate((r) => (r as HTMLInputElement).checked), true);
    // The methods offered are the format's capabilities: a TF.js model cannot rebuild a re-laid-out
    // weight; a safetensors checkpoint has no forward pass to learn from.
    const offered = async (): Promise<string[]> => (await again.page.$$eval('vscode-radio[name="method"]', (rs) => rs.filter((r) => !(r as HTMLElement).hidden).map((r) => r.getAttribute('value')!)));
    await again.load({ ...analysis, format: 'tfjs-layers', capabilities: formatModule('tfjs-layers').capabilities }, 'file:///models/model.json');
    assert.deepEqual(await offered(), ['svd', 'whitened', 'whitened+finetune']);
    await again.load({ ...analysis, format: 'safetensors', capabilities: formatModule('safetensors').capabilities }, 'file:///models/model.safetensors');
    assert.deepEqual(await offered(), ['svd']);
  });

  test('a bf16 model with no precision chosen: priced as f16, compressed without a dtype so its factors stay bf16', async () => {
    const bf16 = { ...analysis, layers: analysis.layers.map((l) => ({ ...l, dtype: 'bfloat16' })) };
    const panel = await open();
    await panel.load(bf16);
    assert.equal(await panel.page.locator('vscode-radio[name="dtype"][value="f16"]').evaluate((r) => (r as HTMLInputElement).checked), true);
    await panel.page.locator('#compress').click();
    await panel.page.locator('#export-plan').click();
    const posted = (await panel.host()).posted.filter((m) => m.type !== 'ready');
    assert.deepEqual(posted.map((m) => m.type), ['compress', 'exportPlan']);
    for (const m of posted) assert.equal('plan' in m && 'dtype' in m.plan, false, `${m.type} posts no dtype`);
    // Clicking the precision shown as implied chooses it: F16 factors, not the stored BF16.
    await panel.page.locator('vscode-radio[name="dtype"][value="f16"]').click();
    await panel.page.locator('#compress').click();
    const chosen = (await panel.host()).posted.filter((m) => m.type === 'compress').pop();
    assert.equal(chosen && 'plan' in chosen ? chosen.plan.dtype : undefined, 'f16');
  });

  test('host messages: progress and engine in the header, a layer selected by the host, errors shown', async () => {
    const panel = await open();
    await panel.send({ type: 'status', status: { engine: 'torch (cuda)', progress: 0.25, label: 'dense_3' } });
    assert.equal(await panel.page.textContent('header [role=status]'), 'Analysing… 25 % (dense_3)');
    const layer = analysis.layers[42].name;
    await panel.send({ type: 'select', layer });
    await panel.load(analysis);
    assert.equal(await panel.page.getAttribute(`tr[data-name="${layer}"]`, 'aria-current'), 'true');
    assert.equal(await panel.page.getAttribute('svg.chart >> nth=0', 'aria-label'), `Singular values of ${layer}`);
    assert.equal(await panel.page.textContent('header [role=status]'), 'Analysis complete');
    await panel.send({ type: 'error', message: 'fixture.onnx: truncated file' });
    assert.equal(await panel.page.textContent('header [role=alert]'), 'fixture.onnx: truncated file');
  });

  test("a compression's report is shown beside the prediction, with its measured point on the curve", async () => {
    const panel = await open();
    await panel.load(analysis);
    const predicted = await panel.total('f32');
    // The fields the panel reads; the report's other additive fields do not matter here.
    const report = {
      originalParams: analysis.totalParams, compressedParams: await panel.total('params'),
      originalBytes: analysis.fileBytes, compressedBytes: Math.round(predicted * 1.01), predictedBytes: predicted,
      layers: [{ name: analysis.layers[5].name, rank: 3, dtype: 'f32', relativeError: 0.3 }],
      source: '/models/fixture.onnx', output: '/models/fixture.reduced.onnx', files: ['/models/fixture.reduced.onnx'],
      format: 'onnx', engine: 'wasm',
    } as CompressReport;
    assert.equal(await panel.page.locator('svg .dot.measured').count(), 0);
    await panel.send({ type: 'report', report });
    assert.equal(await panel.page.textContent('section.report h2'), 'Compressed: fixture.reduced.onnx');
    assert.match(await panel.page.textContent('dd[data-report="bytes"]') ?? '', /\(predicted 14\.3 MiB, \+1\.0 %\)$/);
    assert.equal(Number(await panel.page.getAttribute('dd[data-report="bytes"]', 'data-value')), report.compressedBytes);
    assert.equal(Number(await panel.page.getAttribute('dd[data-report="bytes"]', 'data-predicted')), predicted);
    assert.equal(await panel.page.locator('svg .dot.measured').count(), 1);
    // Each compression adds its point; the report shows the latest.
    await panel.send({ type: 'report', report: { ...report, compressedParams: Math.round(report.compressedParams / 2), output: '/models/second.onnx' } });
    assert.equal(await panel.page.textContent('section.report h2'), 'Compressed: second.onnx');
    const dots = await panel.page.$$eval('svg .dot.measured', (cs) => cs.map((c) => Number(c.getAttribute('cx'))));
    assert.equal(dots.length, 2);
    assert.ok(dots[1] < dots[0], 'the smaller model is further left');
    // Another model's measurements do not belong on this model's curve.
    await panel.load(analysis, 'file:///models/other.onnx');
    assert.equal(await panel.page.locator('svg .dot.measured').count(), 0);
    assert.equal(await panel.page.locator('section.report').isHidden(), true);
  });

  test("an evaluation of the compression's output is shown in the report and plotted on the measured-fidelity chart", async () => {
    const panel = await open();
    await panel.load(analysis);
    const output = '/models/fixture.reduced.onnx';
    const kept = await panel.total('params');
    const report = {
      originalParams: analysis.totalParams, compressedParams: kept, originalBytes: analysis.fileBytes,
      compressedBytes: kept * 4, predictedBytes: kept * 4, layers: [], source: '/models/fixture.onnx', output,
      files: [output], format: 'onnx', engine: 'wasm',
    } as unknown as CompressReport;
    const side = (params: number, accuracy?: number) => ({ path: '/models/x.onnx', format: 'onnx' as const, params, bytes: params * 4, accuracy });
    const labelled: EvalReport = {
      original: side(analysis.totalParams, 0.8882), compressed: side(kept, 0.8754), samples: 10000, inputsFrom: 'file',
      top1Agreement: 0.9523, relativeOutputError: 0.1234,
    };
    await panel.send({ type: 'report', report });
    await panel.send({ type: 'evaluation', output, evaluation: { state: 'running' } });
    assert.equal(await panel.page.textContent('dd[data-report="evaluating"]'), 'evaluating…');
    assert.equal(await panel.page.locator('svg.chart').count(), 3, 'no measured chart before a result');
    // A result for an earlier compression is not this report's, but it is a measurement of this model.
    const older = { ...labelled, compressed: side(Math.round(kept / 2), 0.7) };
    await panel.send({ type: 'evaluation', output: '/models/older.onnx', evaluation: { state: 'done', report: older } });
    assert.equal(await panel.page.locator('dd[data-report="accuracy"]').count(), 0);
    assert.equal(await panel.page.locator('svg.chart').count(), 4);

    await panel.send({ type: 'evaluation', output, evaluation: { state: 'done', report: labelled } });
    const accuracy = panel.page.locator('dd[data-report="accuracy"]');
    assert.equal(await accuracy.textContent(), '87.54 % (was 88.82 %, -1.28 points)');
    assert.equal(Number(await accuracy.getAttribute('data-value')), 0.8754);
    assert.equal(Number(await panel.page.getAttribute('dd[data-report="agreement"]', 'data-value')), 0.9523);
    assert.match(await panel.page.textContent('dd[data-report="agreement"]') ?? '', /^95\.23 % on 10,000 inputs from the settings$/);
    assert.equal(await panel.page.textContent('dd[data-report="output-error"]'), '1.234e-1');
    assert.equal(await panel.page.locator('dd[data-report="evaluating"]').count(), 0);
    // The fourth chart: the original at 100 % of the parameters, the compression at what it kept.
    const chart = panel.page.locator('svg.chart').nth(3);
    assert.equal(await chart.getAttribute('aria-label'), 'Whole model: parameters kept vs measured accuracy');
    const dot = (cls: string) => chart.locator(`circle.${cls}`).evaluateAll((cs) => cs.map((c) => [Number(c.getAttribute('cx')), c.textContent] as const));
    const [[olderX], [evaluatedX, evaluatedLabel]] = await dot('evaluated');
    assert.ok(olderX < evaluatedX, 'the smaller model is further left');
    const [[originalX, originalLabel]] = await dot('original');
    assert.equal(evaluatedLabel, 'measured (evaluation 2): 87.54 %');
    assert.equal(originalLabel, 'original: 88.82 %');
    // x is parameters kept on a 0–1 axis: the compression sits at kept/total of the way to the original.
    const [x0] = await chart.locator('line.frame').first().evaluate((l) => [Number(l.getAttribute('x1'))]);
    assert.ok(Math.abs((evaluatedX - x0) / (originalX - x0) - kept / analysis.totalParams) < 0.01, `dot at ${evaluatedX}`);
    assert.equal((await chart.locator('polyline.fidelity').getAttribute('points'))!.trim().split(/\s+/).length, 3);
    // A budget move redraws the proxy-error chart and keeps the measured one as drawn: its inputs did not change.
    const mark = () => panel.page.locator('svg.chart').evaluateAll((svgs) => svgs.map((svg) => svg.dataset.mark ?? ''));
    await panel.page.locator('svg.chart').evaluateAll((svgs) => svgs.forEach((svg, i) => { svg.dataset.mark = String(i); }));
    await panel.page.locator('#budget-value input').fill('20');
    await panel.page.keyboard.press('Enter');
    const [tradeoff, measured] = (await mark()).slice(2);
    assert.deepEqual([tradeoff, measured], ['', '3']);

    // Without labels (no data in the settings) the panel shows top-1 agreement on drawn inputs.
    await panel.send({ type: 'report', report: { ...report, output: '/models/second.onnx' } });
    await panel.send({ type: 'evaluation', output: '/models/second.onnx', evaluation: {
      state: 'done', report: { ...labelled, original: side(analysis.totalParams), compressed: side(kept), samples: 256, inputsFrom: 'random', top1Agreement: 0.875 },
    } });
    assert.equal(await panel.page.locator('dd[data-report="accuracy"]').count(), 0);
    assert.match(await panel.page.textContent('dd[data-report="agreement"]') ?? '', /^87\.50 % on 256 inputs drawn from the signature$/);
    assert.equal(await panel.page.getAttribute('svg.chart >> nth=3', 'aria-label'), 'Whole model: parameters kept vs measured top-1 agreement');
    // A failed evaluation says why.
    await panel.send({ type: 'report', report: { ...report, output: '/models/third.onnx' } });
    await panel.send({ type: 'evaluation', output: '/models/third.onnx', evaluation: { state: 'failed', message: 'x.npz: has 3 labels for 5 inputs' } });
    assert.equal(await panel.page.textContent('dd[data-report="evaluation-error"]'), 'x.npz: has 3 labels for 5 inputs');
    // A language model run by its PyTorch module: perplexity on held-out token ids is what the chart plots (lower is better).
    await panel.send({ type: 'report', report: { ...report, output: '/models/lm.safetensors' } });
    await panel.send({ type: 'evaluation', output: '/models/lm.safetensors', evaluation: {
      state: 'done', report: { ...labelled, original: { ...side(analysis.totalParams), perplexity: 12.34 }, compressed: { ...side(kept), perplexity: 13.5 }, samples: 64, inputsFrom: 'file', top1Agreement: 0.81 },
    } });
    const lm = panel.page.locator('svg.chart').nth(3);
    assert.equal(await lm.getAttribute('aria-label'), 'Whole model: parameters kept vs measured perplexity');
    const at = (cls: string) => lm.locator(`circle.${cls}`).evaluateAll((cs) => cs.map((c) => [Number(c.getAttribute('cy')), c.textContent] as const));
    const [[lmY, lmLabel]] = await at('evaluated');
    const [[lmOriginalY, lmOriginalLabel]] = await at('original');
    assert.equal(lmLabel, 'measured (evaluation 1): 13.50');
    assert.equal(lmOriginalLabel, 'original: 12.34');
    assert.ok(lmY < lmOriginalY, 'the higher perplexity is drawn higher');
  });

  test('the layer charts mark the chosen, suggested and break-even ranks, and follow the budget', async () => {
    const panel = await open();
    await panel.load(analysis);
    const markers = (chart: number) => panel.page.locator('svg.chart').nth(chart).locator('g.marker').evaluateAll((gs) =>
      gs.map((g) => ({ kind: g.getAttribute('class'), label: g.textContent, x: Number(g.querySelector('line')?.getAttribute('x1')) })));
    const name = await panel.page.getAttribute('tr[aria-current=true]', 'data-name');
    const layer = analysis.layers.find((l) => l.name === name)!;
    const rank = Number(await panel.page.getAttribute('tr[aria-current=true]', 'data-rank'));
    for (const chart of [0, 1]) {
      const m = await markers(chart);
      assert.deepEqual(m.map((x) => [x.kind, x.label]), [
        ['marker chosen', rank >= Math.min(layer.rows, layer.cols) ? 'chosen (dense)' : `chosen ${rank}`],
        ['marker suggested', layer.suggestedRank >= Math.min(layer.rows, layer.cols) ? 'suggested (dense)' : `suggested ${layer.suggestedRank}`],
        ['marker break-even', `break-even ${layer.breakEvenRank}`],
      ]);
      // The chosen rank is left of break-even exactly when the layer is factorised.
      assert.equal(m[0].x < m[2].x, rank <= layer.breakEvenRank);
    }
    // A smaller budget moves the chosen marker left, and only it.
    const before = await markers(0);
    await panel.page.locator('#budget-value input').fill('10');
    await panel.page.keyboard.press('Enter');
    const after = await markers(0);
    assert.ok(after[0].x < before[0].x, `chosen marker at ${before[0].x} → ${after[0].x}`);
    assert.deepEqual(after.slice(1), before.slice(1));
  });

  test('state survives a reload: goal, budget and pins come back', async () => {
    const first = await open();
    await first.load(analysis);
    await first.page.locator('#budget-value input').fill('30');
    await first.page.keyboard.press('Enter');
    const layer = analysis.layers[3];
    await first.page.locator(`tr[data-name="${layer.name}"] input.rank-number`).fill('2');
    await first.page.keyboard.press('Enter');
    const saved = (await first.host()).state!;
    assert.equal(saved.uri, 'file:///models/fixture.onnx');
    const shown = await first.ranks();

    const second = await open(saved);
    await second.load(analysis);
    assert.deepEqual(await second.ranks(), shown);
    assert.deepEqual(shown, expectedAllocation(analysis, 0.3, { [layer.name]: 2 }).ranks);
    assert.equal(await second.page.locator('#budget').inputValue(), '30');
    // A different model starts without the old model's pins.
    await second.load(analysis, 'file:///models/other.onnx');
    assert.deepEqual((await second.host()).state?.pins, {});
  });

  test('light, dark and high-contrast theme variables switch the colours cleanly (screenshots in .test-artifacts)', async () => {
    const panel = await open();
    await panel.load(analysis);
    mkdirSync(ARTIFACTS, { recursive: true });
    const themes = [['light', 'vscode-light', LIGHT], ['dark', 'vscode-dark', DARK], ['high-contrast', 'vscode-high-contrast', HIGH_CONTRAST]] as const;
    for (const [name, kind, vars] of themes) {
      await panel.theme(kind, vars);
      const colours = await panel.page.evaluate(() => {
        const body = getComputedStyle(document.body);
        const line = document.querySelector('svg .spectrum');
        // The component draws itself inside its shadow root.
        const button = document.querySelector('#compress')?.shadowRoot?.querySelector('.base');
        const budget = document.querySelector('section.budget');
        return {
          text: body.color, background: body.backgroundColor,
          spectrum: line ? getComputedStyle(line).stroke : '',
          button: button ? getComputedStyle(button).backgroundColor : '',
          border: budget ? getComputedStyle(budget).borderTopColor : '',
        };
      });
      assert.deepEqual(colours, {
        text: rgb(vars['--vscode-foreground']), background: rgb(vars['--vscode-editor-background']),
        spectrum: rgb(vars['--vscode-charts-blue']), button: rgb(vars['--vscode-button-background']),
        border: rgb(vars['--vscode-panel-border']),
      }, name);
      await panel.page.screenshot({ path: `${ARTIFACTS}/panel-${name}.png` });
    }
    await assertNotEmpty(panel);
  });
});
