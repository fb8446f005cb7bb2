// `npm run test:electron`: the extension-host scenarios (suite/scenarios.ts) run through the
// VS Code API inside a real extension host, kept out of `npm test` (the download needs the
// network). The host, first that applies:
// - REDUCIBLE_SUITE_HOST=code-server: code-server's extension host (scripts/setup-code-server.sh);
// - a desktop VS Code, from VSCODE_EXECUTABLE or downloaded by @vscode/test-electron
//   (findVSCode.ts), run by its runTests (--extensionDevelopmentPath + --extensionTestsPath),
//   on Linux without a display under xvfb-run;
// - where there is none (offline, no display), the runner prints why and runs the suite in
//   code-server instead: the test's title names the host that ran it, never the desktop one
//   it could not have. REDUCIBLE_SUITE_HOST=desktop refuses that fallback: the test is then
//   skipped with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runTests } from '@vscode/test-electron';
import { build } from 'esbuild';
import { tempDir } from '../helpers/cli.js';
import { makeFixtureWorkspace, type FixtureWorkspace } from '../e2e/fixtureWorkspace.js';
import { runInCodeServer } from './codeServerHost.js';
import { findVSCode } from './findVSCode.js';

const root = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { publisher: string; name: string };
const extensionId = `${pkg.publisher}.${pkg.name}`;

type Host = { desktop: string; launcher: string[] } | { codeServer: true; instead?: string } | { skip: string };

/** Linux without a display needs a virtual one; xvfb-run (Debian: xvfb) provides it. */
function displayLauncher(): string[] | { unavailable: string } {
  if (process.platform !== 'linux' || process.env.DISPLAY || process.env.WAYLAND_DISPLAY) return [];
  const r = spawnSync('sh', ['-c', 'command -v xvfb-run'], { encoding: 'utf8' });
  return r.status === 0 ? [r.stdout.trim(), '-a'] : { unavailable: 'no display and no xvfb-run (apt-get install xvfb)' };
}

async function chooseHost(): Promise<Host> {
  const wanted = process.env.REDUCIBLE_SUITE_HOST;
  if (wanted === 'code-server') return { codeServer: true };
  const vscode = await findVSCode(root);
  const launcher = 'executable' in vscode ? displayLauncher() : vscode;
  if ('executable' in vscode && Array.isArray(launcher)) return { desktop: vscode.executable, launcher };
  const why = 'unavailable' in launcher ? launcher.unavailable : 'no desktop VS Code';
  if (wanted === 'desktop') return { skip: why };
  console.log(`test:electron: no desktop VS Code to run the suite in: ${why}.\n`
    + 'test:electron: running it in code-server\'s extension host instead (REDUCIBLE_SUITE_HOST=desktop skips rather than falls back).');
  return { codeServer: true, instead: why };
}

async function runInDesktop(executable: string, launcher: string[], tmp: string, ws: FixtureWorkspace): Promise<void> {
  const suite = join(tmp, 'suite.cjs');
  await build({ entryPoints: [join(root, 'test/electron/suite/index.ts')], outfile: suite, bundle: true, format: 'cjs', platform: 'node', target: 'node20', external: ['vscode'], logLevel: 'warning' });
  for (const d of ['user-data', 'extensions']) mkdirSync(join(tmp, d));
  // runTests starts the executable itself; a display wrapper goes in front as a script.
  let vscodeExecutablePath = executable;
  if (launcher.length > 0) {
    vscodeExecutablePath = join(tmp, 'code-with-display');
    writeFileSync(vscodeExecutablePath, `#!/bin/sh\nexec ${[...launcher, executable].map((a) => `'${a}'`).join(' ')} "$@"\n`);
    chmodSync(vscodeExecutablePath, 0o755);
  }
  // Rejects (TestRunFailedError) when VS Code exits non-zero: the suite's index.ts throws on a failed scenario.
  await runTests({
    vscodeExecutablePath,
    extensionDevelopmentPath: root,
    extensionTestsPath: suite,
    launchArgs: [ws.dir, `--user-data-dir=${join(tmp, 'user-data')}`, `--extensions-dir=${join(tmp, 'extensions')}`, '--disable-gpu'],
    extensionTestsEnv: { REDUCIBLE_FIXTURE: JSON.stringify(ws), REDUCIBLE_EXTENSION_ID: extensionId, ELECTRON_RUN_AS_NODE: undefined },
  });
}

const host = await chooseHost();
const name = 'desktop' in host ? 'scenarios in the VS Code desktop extension host (@vscode/test-electron)'
  : 'codeServer' in host ? `scenarios in the code-server extension host${host.instead ? ' (no desktop VS Code: see the log above)' : ''}`
  : 'scenarios in the VS Code desktop extension host';
test(name, { skip: 'skip' in host ? host.skip : false, timeout: 15 * 60_000 }, async () => {
  const tmp = tempDir('reducible-electron-');
  const ws = await makeFixtureWorkspace(join(tmp, 'workspace'), join(tmp, 'scratch'));
  if ('desktop' in host) {
    await runInDesktop(host.desktop, host.launcher, tmp, ws);
  } else {
    const log = await runInCodeServer(tmp, ws, extensionId, 10 * 60_000);
    console.log(log);
    assert.match(log, /^RESULT pass$/m, 'the suite failed; its log is above');
  }
  // A failed run leaves its profile and workspace for a look.
  rmSync(tmp, { recursive: true, force: true });
});
