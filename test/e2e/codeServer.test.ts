// End-to-end in real VS Code: code-server 4.139.1 on Node 24 with the built extension
// installed, a fixture workspace open, driven by playwright-core and Debian Chromium.
// Screenshots of every step (and of any failure) go to .test-artifacts/e2e/.
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
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
