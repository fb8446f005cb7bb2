// `npm run test:electron`: the same scenarios as the code-server suite, run through the
// VS Code API inside an extension host. By default the host is a desktop VS Code run the
// way @vscode/test-electron runs it (--extensionDevelopmentPath + --extensionTestsPath);
// where none is available the test is reported as skipped with the reason, never as
// passed. REDUCIBLE_SUITE_HOST=code-server runs the suite in code-server's extension host
// instead (installed by scripts/setup-code-server.sh). Kept out of `npm test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { tempDir } from '../helpers/cli.js';
import { makeFixtureWorkspace, type FixtureWorkspace } from '../e2e/fixtureWorkspace.js';
import { runInCodeServer } from './codeServerHost.js';
import { findVSCode } from './findVSCode.js';

const root = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { publisher: string; name: string };
const extensionId = `${pkg.publisher}.${pkg.name}`;
const inCodeServer = process.env.REDUCIBLE_SUITE_HOST === 'code-server';
const vscode = inCodeServer ? undefined : await findVSCode();
const display = displayWrapper();
const skip = !vscode ? false : 'skip' in vscode ? vscode.skip : display.skip;

/** Linux without a display needs a virtual one; xvfb-run (Debian: xvfb) provides it. */
function displayWrapper(): { prefix: string[]; skip?: string } {
  if (process.platform !== 'linux' || process.env.DISPLAY || process.env.WAYLAND_DISPLAY) return { prefix: [] };
  const r = spawnSync('sh', ['-c', 'command -v xvfb-run'], { encoding: 'utf8' });
  return r.status === 0 ? { prefix: [r.stdout.trim(), '-a'] } : { prefix: [], skip: 'no display and no xvfb-run (apt-get install xvfb)' };
}

async function runInDesktop(executable: string, tmp: string, ws: FixtureWorkspace): Promise<void> {
  const suite = join(tmp, 'suite.cjs');
  await build({ entryPoints: [join(root, 'test/electron/suite/index.ts')], outfile: suite, bundle: true, format: 'cjs', platform: 'node', target: 'node20', external: ['vscode'], logLevel: 'warning' });
  for (const d of ['user-data', 'extensions']) mkdirSync(join(tmp, d));
  const args = [executable, ws.dir, `--extensionDevelopmentPath=${root}`, `--extensionTestsPath=${suite}`,
    `--user-data-dir=${join(tmp, 'user-data')}`, `--extensions-dir=${join(tmp, 'extensions')}`,
    '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes', '--disable-updates', '--no-sandbox', '--disable-gpu'];
  const [cmd, ...rest] = [...display.prefix, ...args];
  const r = spawnSync(cmd, rest, {
    stdio: 'inherit', timeout: 14 * 60_000,
    env: { ...process.env, REDUCIBLE_FIXTURE: JSON.stringify(ws), REDUCIBLE_EXTENSION_ID: extensionId, ELECTRON_RUN_AS_NODE: undefined },
  });
  assert.equal(r.status, 0, `VS Code exited with ${r.status ?? r.signal}; the scenario log is above`);
}

const name = `scenarios in the ${inCodeServer ? 'code-server' : 'VS Code desktop'} extension host`;
test(name, { skip, timeout: 15 * 60_000 }, async () => {
  const tmp = tempDir('reducible-electron-');
  const ws = await makeFixtureWorkspace(join(tmp, 'workspace'), join(tmp, 'scratch'));
  if (vscode && 'executable' in vscode) return runInDesktop(vscode.executable, tmp, ws);
  const log = await runInCodeServer(tmp, ws, extensionId, 10 * 60_000);
  console.log(log);
  assert.match(log, /^RESULT pass$/m, 'the suite failed; its log is above');
});
