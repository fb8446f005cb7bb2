// End-to-end in real VS Code: code-server 4.139.1 on Node 24 with the built extension
// installed, a fixture workspace open, driven by playwright-core and Debian Chromium.
// Screenshots of every step (and of any failure) go to .test-artifacts/e2e/.
import { spawnSync } from 'node:child_process';
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { CRASHED_RESTARTED, STOPPED } from '../../client/restartPolicy.js';
import type { CompressReport } from '../../core/compress/report.js';
import type { EvalReport } from '../../core/eval/evaluate.js';
import { tempDir } from '../helpers/cli.js';
import { ensureCodeServer, listExtensions, makeProfile, startCodeServer, type Profile, type RunningCodeServer } from './codeServer.js';
import { makeFixtureWorkspace, type FixtureWorkspace } from './fixtureWorkspace.js';
import { installVsix, packageVsix, type InstalledExtension } from './installExtension.js';
import { launchChromium, Workbench } from './workbench.js';

const root = resolve(import.meta.dirname, '../..');
const artifacts = join(root, '.test-artifacts/e2e');
const noClient = existsSync(join(root, 'client/extension.ts')) ? false
  : 'client/extension.ts does not exist yet, so there is no extension client to drive';

let profile: Profile | undefined;
let server: RunningCodeServer | undefined;
let browser: Browser | undefined;
let wb: Workbench;
let ws: FixtureWorkspace;
let ext: InstalledExtension;
let listed: string[];

before(async () => {
  const installSeconds = ensureCodeServer();
  console.log(`e2e: code-server setup took ${installSeconds.toFixed(1)} s`);
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  const tmp = tempDir('reducible-e2e-');
  ws = await makeFixtureWorkspace(join(tmp, 'workspace'), join(tmp, 'scratch'));
  profile = makeProfile(join(tmp, 'profile'));
  ext = installVsix(profile, packageVsix(tmp));
  listed = listExtensions(profile);
  server = await startCodeServer(profile, join(artifacts, 'code-server.log'));
  browser = await launchChromium();
  wb = await Workbench.open(browser, server.url, ws.dir, artifacts);
  await wb.screenshot('workbench-loaded');
}, { timeout: 20 * 60_000 });

after(async () => {
  await browser?.close();
  await server?.stop();
  // VS Code's own logs (extension host, language server output channels) for failure triage.
  const logs = profile && join(profile.userDataDir, 'logs');
  if (logs && existsSync(logs)) cpSync(logs, join(artifacts, 'vscode-logs'), { recursive: true });
});

/** Runs a scenario, saving a screenshot of the workbench if it fails. */
async function scenario(t: TestContext, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    await wb?.screenshot(`FAILED-${t.name.replace(/\W+/g, '-')}`).catch(() => undefined);
    // Close whatever menu or picker the failure left open, so the next scenario starts clean.
    for (let i = 0; i < 3; i++) await wb?.page.keyboard.press('Escape').catch(() => undefined);
    throw e;
  }
}

test('the workbench loads the fixture workspace', { timeout: 60_000 }, (t) => scenario(t, async () => {
  for (const m of ws.models) await wb.revealInExplorer(m);
  await wb.screenshot('explorer');
}));

test('VS Code lists the extension as installed', { timeout: 120_000 }, (t) => scenario(t, async () => {
  assert.ok(listed.includes(`${ext.id}@${ext.version}`), `code-server --list-extensions printed: ${listed.join(', ') || '(nothing)'}`);
  await wb.runCommand('Extensions: Show Installed Extensions');
  const row = wb.page.locator('.extensions-viewlet .monaco-list-row', { hasText: 'Reducible' });
  await row.first().waitFor({ timeout: 60_000 });
  await wb.screenshot('extensions-installed');
  await wb.runCommand('View: Show Explorer');
}));

test('the Models view lists the fixture models', { skip: noClient, timeout: 180_000 }, (t) => scenario(t, async () => {
  const view = await wb.viewPane('Models');
  // Each model's description says what is removable once the language server has analysed it.
  for (const m of ws.models) {
    await view.locator('.monaco-list-row', { hasText: m }).filter({ hasText: /≈\d+ % removable/ }).waitFor({ timeout: 150_000 });
  }
  await wb.screenshot('models-view');
}));

test('hovering a layer in model.json shows the rank hint', { skip: noClient, timeout: 180_000 }, (t) => scenario(t, async () => {
  await wb.openFile(ws.tfjsModel);
  await wb.moveCursorTo(ws.denseLayer);
  const deadline = Date.now() + 150_000;
  // No hover until the server has analysed the model; rest the mouse there again until it is.
  for (;;) {
    const text = await wb.hoverOver(`"${ws.denseLayer}"`);
    if (/break-even rank/.test(text)) {
      assert.match(text, new RegExp(ws.denseLayer));
      assert.match(text, /suggested rank/);
      break;
    }
    assert.ok(Date.now() < deadline, `no rank hint in the hover; it showed: ${text || '(nothing)'}`);
    await wb.page.waitForTimeout(1000);
  }
  await wb.screenshot('hover-rank-hint');
  await wb.page.mouse.move(0, 0);
}));

test('explorer right-click → Reducible: Compress Model… writes the reduced file', { skip: noClient, timeout: 300_000 }, (t) => scenario(t, async () => {
  const reducedName = basename(ws.tfjsModel).replace(/\.json$/, '.reduced.json');
  const reduced = join(ws.dir, dirname(ws.tfjsModel), reducedName);
  assert.ok(!existsSync(reduced), `${reduced} exists before compressing`);
  const row = await wb.revealInExplorer(ws.tfjsModel);
  await wb.explorerContextMenu(row, 'Compress Model');
  // Half the parameters, so layers are really factorised (at the suggested 99 % energy the
  // trained example keeps every layer dense).
  await wb.quickPickRow('Keep N % of parameters').waitFor();
  await wb.screenshot('compress-goal');
  await wb.pick('Keep N % of parameters');
  await wb.answerInputBox('percentage of the parameters', '50');
  await wb.pick('Keep stored precision');
  const notification = wb.page.locator('.notification-toast', { hasText: `wrote ${reducedName}` });
  await notification.waitFor({ timeout: 240_000 });
  await wb.explorerRow(reducedName).waitFor({ timeout: 30_000 });
  await wb.screenshot('compress-done');
  assert.ok(existsSync(reduced), `${reduced} is not on disk`);
  const report = JSON.parse(readFileSync(`${reduced}.report.json`, 'utf8')) as { originalParams: number; compressedParams: number; layers: unknown[] };
  assert.ok(report.layers.length > 0, 'no layer was factorised');
  assert.ok(report.compressedParams <= 0.51 * report.originalParams, `kept ${report.compressedParams} of ${report.originalParams} params`);
}));

/**
 * Polls `probe` until it returns something other than undefined; fails with `what` after
 * `timeout` ms, adding what `seen` says the workbench showed then (CI keeps only the log).
 */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeout = 30_000, seen?: () => Promise<string>): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) assert.fail(`timed out waiting for ${what}${seen ? `; ${await seen().catch((e: unknown) => String(e))}` : ''}`);
    await wb.page.waitForTimeout(250);
  }
}

/**
 * Waits for the panel's table to list `count` layers. A webview whose page never rendered
 * (no header after 40 s: its frame's resources did not load, which the workbench, not the
 * extension, serves) is reloaded once, saying so in the log; a page that rendered but got no
 * analysis fails as it is.
 */
async function panelRows<T>(what: string, read: () => Promise<T[]>, count: number): Promise<T[]> {
  const rendered = () => wb.webview().locator('header').count().catch(() => 0);
  let reloadAt: number | undefined = Date.now() + 40_000;
  return until(what, async () => {
    const found = await read().catch(() => []);
    if (found.length === count) return found;
    if (reloadAt !== undefined && Date.now() > reloadAt && await rendered() === 0) {
      console.log(`e2e: the panel's page had not rendered after 40 s (${await panelSeen()}); reloading webviews`);
      reloadAt = undefined;
      await wb.runCommand('Developer: Reload Webviews');
    }
    return undefined;
  }, 150_000, panelSeen);
}

/** The editor tabs, and what the visible panel's header and table show. */
async function panelSeen(): Promise<string> {
  const tabs = await wb.page.locator('.tabs-container .tab').evaluateAll((ts) => ts.map((t) => t.getAttribute('aria-label') ?? t.textContent));
  const panel = wb.webview();
  const header = await panel.locator('header').innerText({ timeout: 2000 }).catch(() => '(no header)');
  const rows = await panel.locator('table.layers tbody tr').count().catch(() => -1);
  return `tabs: ${tabs.join(' | ')}; webviews: ${await wb.page.locator('iframe.webview').count()}; panel header: ${JSON.stringify(header)}; rows: ${rows}`;
}

test('tradeoff panel: open the example, move the budget, Compress at the panel\'s precision (measured bytes within 2 % of predicted, fidelity as `reducible evaluate` gives it), Export plan, restored after a reload', { skip: noClient, timeout: 600_000 }, (t) => scenario(t, async () => {
  const reduced = join(ws.dir, dirname(ws.tfjsModel), basename(ws.tfjsModel).replace(/\.json$/, '.reduced.json'));
  // The explorer scenario compressed this model already; without its output Compress does not ask to replace it.
  removeOutput(reduced);

  const models = await wb.viewPane('Models');
  const model = models.locator('.monaco-list-row', { hasText: ws.tfjsModel }).filter({ hasText: /removable/ }).first();
  await model.waitFor({ timeout: 150_000 });
  // As with quick picks, a click can be lost, or land on another row, while the view re-renders
  // (removing the output above changes its list): clicking again only reveals the right panel.
  const title = `Reducible: ${basename(ws.tfjsModel)}`;
  for (let attempt = 0; ; attempt++) {
    await model.click();
    const opened = await wb.webviewFrame().waitFor({ timeout: 20_000 }).then(() => true, () => false);
    const active = opened ? await wb.page.locator('.tabs-container .tab.active').first().getAttribute('aria-label').catch(() => null) : null;
    if (active?.startsWith(title)) break;
    assert.ok(attempt < 2, `clicking ${ws.tfjsModel} in the Models view opened ${opened ? `"${active}"` : 'no panel'}`);
    if (opened) {
      console.log(`e2e: clicking ${ws.tfjsModel} in the Models view opened "${active}"; closing it and clicking again`);
      await wb.runCommand('View: Close Editor');
    }
  }
  const panel = wb.webview();
  const rows = panel.locator('table.layers tbody tr');
  // The table lists the model's real layers once the server's analysis arrives.
  const names = await panelRows('the panel to list the layers', () => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-name'))), ws.denseLayers.length);
  assert.deepEqual(names, ws.denseLayers);
  await panel.locator('header [role=status]', { hasText: 'Analysis complete' }).waitFor();
  const ranks = () => rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-rank'))));
  const total = async (key: string) => Number(await panel.locator(`dd[data-total="${key}"]`).getAttribute('data-value'));
  const before = await ranks();

  // The global budget, typed into its numeric field: 30 % of the parameters.
  const field = panel.locator('#budget-value input');
  await field.fill('30');
  await field.press('Enter');
  const after = await until('the ranks to follow the budget', async () => {
    const now = await ranks();
    return now.some((k, i) => k !== before[i]) ? now : undefined;
  });
  assert.ok(after.every((k, i) => k <= before[i]) && after.some((k, i) => k < before[i]), `ranks ${before.join(',')} → ${after.join(',')}`);
  assert.ok(await total('keep') <= 0.3, `kept ${await total('keep')}`);
  const predictedParams = await total('params');
  const predictedF32 = await total('f32');
  // The example is stored in float32, so that is the precision the panel starts from; Compress
  // keeps the model's precision without asking.
  const precision = panel.locator('vscode-radio-group[data-group="dtype"]');
  assert.equal(await precision.locator('vscode-radio[value="f32"]').evaluate((r) => (r as HTMLInputElement).checked), true);
  assert.deepEqual(await panel.locator('.totals > div.chosen dd').evaluateAll((dds) => dds.map((d) => d.getAttribute('data-total'))), ['f32']);

  await panel.locator('#compress').click();
  const report = panel.locator('section.report:not([hidden])');
  await report.waitFor({ timeout: 240_000 });

  assert.ok(existsSync(reduced), `${reduced} is not on disk`);
  const written = JSON.parse(readFileSync(`${reduced}.report.json`, 'utf8')) as CompressReport;
  for (const f of written.files) assert.ok(existsSync(f), `${f} listed in the report is not on disk`);
  // What was written is what the panel planned and predicted.
  assert.equal(written.compressedParams, predictedParams);
  assert.equal(written.predictedBytes, predictedF32);
  const byName = new Map(names.map((n, i) => [n, after[i]]));
  for (const l of written.layers) assert.equal(l.rank, byName.get(l.name), `rank of ${l.name}`);
  const off = written.compressedBytes / written.predictedBytes - 1;
  assert.ok(Math.abs(off) <= 0.02, `wrote ${written.compressedBytes} bytes for ${written.predictedBytes} predicted (${(off * 100).toFixed(2)} %)`);
  // The panel shows those measured bytes, and the same deviation in its text.
  const bytes = report.locator('dd[data-report="bytes"]');
  assert.equal(Number(await bytes.getAttribute('data-value')), written.compressedBytes);
  assert.equal(Number(await bytes.getAttribute('data-predicted')), written.predictedBytes);
  const shown = /\(predicted [\d.]+ [KMGT]?i?B, ([+-][\d.]+) %\)$/.exec(await bytes.innerText());
  assert.ok(shown, `report text: ${await bytes.innerText()}`);
  assert.ok(Math.abs(Number(shown[1]) - off * 100) <= 0.05, `panel says ${shown[1]} %, report.json ${(off * 100).toFixed(2)} %`);
  assert.equal(await panel.locator('svg .dot.measured').count(), 1);
  assert.ok(written.layers.every((l) => l.dtype === 'f32'), `factor dtypes ${written.layers.map((l) => l.dtype).join(',')}`);

  // Then the host evaluates the output against the original: the panel's figures are the CLI's.
  const data = ws.evaluation;
  const cli = spawnSync(process.execPath, [join(root, 'dist/cli.js'), 'evaluate', join(ws.dir, ws.tfjsModel), reduced,
    ...(data ? ['--inputs', join(ws.dir, data.inputs), '--labels', join(ws.dir, data.labels)] : []), '--json'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  const evaluated = JSON.parse(cli.stdout) as EvalReport;
  const figure = (key: string) => report.locator(`dd[data-report="${key}"]`);
  await figure('agreement').waitFor({ timeout: 240_000 });
  assert.equal(Number(await figure('agreement').getAttribute('data-value')), evaluated.top1Agreement);
  assert.equal(Number(await figure('output-error').getAttribute('data-value')), evaluated.relativeOutputError);
  if (data) {
    // With the example's labelled test set in the workspace settings: accuracy before and after.
    assert.equal(evaluated.samples, 10_000);
    assert.equal(Number(await figure('accuracy').getAttribute('data-value')), evaluated.compressed.accuracy);
    assert.equal(Number(await figure('accuracy').getAttribute('data-original')), evaluated.original.accuracy);
  }
  const fidelity = panel.locator('svg.chart circle.evaluated');
  assert.equal(await fidelity.count(), 1);

  await wb.runCommand('Notifications: Clear All Notifications');
  const shot = join(artifacts, 'panel.png');
  // The panel down to the end of its content, not the empty editor area below it.
  const box = (await wb.webviewFrame().boundingBox())!;
  const content = await panel.locator('body').evaluate((b) => b.scrollHeight);
  await wb.page.screenshot({ path: shot, clip: { ...box, height: Math.min(box.height, content + 8) } });
  // `REDUCIBLE_UPDATE_SCREENSHOTS=1` makes this the README's panel screenshot.
  if (process.env.REDUCIBLE_UPDATE_SCREENSHOTS === '1') copyFileSync(shot, join(root, 'docs/panel.png'));

  if (data) {
    // The Method choice: whitened SVD at the same ranks, learning from the workspace's calibration inputs.
    removeOutput(reduced);
    await panel.locator('vscode-radio[name="method"][value="whitened"]').click();
    await panel.locator('#compress').click();
    const whitened = await until('a whitened compression\'s report', async () => {
      const r = existsSync(`${reduced}.report.json`) ? JSON.parse(readFileSync(`${reduced}.report.json`, 'utf8')) as CompressReport : undefined;
      return r?.method === 'whitened' ? r : undefined;
    }, 240_000);
    assert.ok(whitened.methodChoice, 'the held-out whitened/plain choice ran');
    assert.deepEqual(whitened.layers.map((l) => [l.name, l.rank]), written.layers.map((l) => [l.name, l.rank]));
  }

  // Export plan: VS Code's save dialog, proposed next to the model; the file holds the ranks shown.
  const planFile = join(ws.dir, dirname(ws.tfjsModel), 'plan.json');
  rmSync(planFile, { force: true });
  await panel.locator('#export-plan').click();
  await wb.acceptSaveDialog('plan.json');
  await wb.page.locator('.notification-toast', { hasText: 'Plan written to' }).waitFor({ timeout: 30_000 });
  // No precision was chosen, so the plan names none: `--ranks` keeps the model's.
  const plan = JSON.parse(readFileSync(planFile, 'utf8')) as { layers: Record<string, number>; dtype?: string };
  assert.deepEqual(plan, { layers: Object.fromEntries(byName) });

  // After a window reload the panel serializer brings the panel back with its budget and ranks.
  const reloaded = wb.page.waitForEvent('load', { timeout: 60_000 });
  await wb.runCommand('Developer: Reload Window');
  await reloaded;
  await wb.page.locator('.monaco-workbench').waitFor({ timeout: 90_000 });
  const restored = await panelRows('the restored panel to list its layers', () => rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-rank')))), names.length);
  assert.deepEqual(restored, after);
  assert.equal(await field.inputValue(), '30.0');
}));

// Last, since it leaves the server stopped: the client's answer to a dying server, in the
// real workbench (the policy itself is unit-tested in test/unit).
test('a language server that dies is restarted once and the workbench says so; a second death leaves it stopped, saying how to restart', { skip: noClient, timeout: 240_000 }, (t) => scenario(t, async () => {
  const [first] = await until('the language server process', async () => {
    const pids = languageServerPids();
    return pids.length === 1 ? pids : undefined;
  }, 60_000);
  process.kill(first, 'SIGKILL');
  await wb.page.locator('.notification-toast', { hasText: CRASHED_RESTARTED }).waitFor({ timeout: 60_000 });
  const [second] = await until('a new language server process', async () => {
    const pids = languageServerPids();
    return pids.length === 1 && pids[0] !== first ? pids : undefined;
  }, 60_000);
  await wb.screenshot('server-restarted');
  process.kill(second, 'SIGKILL');
  await wb.page.locator('.notification-toast', { hasText: STOPPED }).waitFor({ timeout: 60_000 });
  await wb.page.waitForTimeout(3000);
  assert.deepEqual(languageServerPids(), [], 'no third server after the second death');
  await wb.screenshot('server-stopped');
}));

/** Processes running this profile's installed copy of dist/server.js (Linux /proc). */
function languageServerPids(): number[] {
  const installed = profile!.extensionsDir;
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      return cmd.some((a) => a.startsWith(installed) && a.endsWith(join('dist', 'server.js'))) ? [Number(d)] : [];
    } catch {
      return []; // exited while listed
    }
  });
}

/** Removes a compressed model and everything its report says was written with it. */
function removeOutput(output: string): void {
  const report = `${output}.report.json`;
  if (existsSync(report)) {
    for (const f of (JSON.parse(readFileSync(report, 'utf8')) as CompressReport).files) rmSync(f, { force: true });
  }
  rmSync(output, { force: true });
  rmSync(report, { force: true });
}
