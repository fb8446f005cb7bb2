// Installs (once, via scripts/setup-code-server.sh) and runs code-server: the real VS Code
// workbench, extension host and file system, served over HTTP to a browser.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
export const NODE24 = join(root, '.cache/node24/node_modules/node/bin/node');
export const CODE_SERVER_ENTRY = join(root, '.cache/code-server/node_modules/code-server/out/node/entry.js');

/** Runs the idempotent installer with its output shown; returns the seconds it took. */
export function ensureCodeServer(): number {
  const started = performance.now();
  execFileSync('bash', [join(root, 'scripts/setup-code-server.sh')], { stdio: 'inherit' });
  return (performance.now() - started) / 1000;
}

export interface Profile {
  userDataDir: string;
  extensionsDir: string;
  /** code-server's own config; passed explicitly so it never writes ~/.config/code-server. */
  configFile: string;
}

/** Settings that keep a fresh profile quiet and deterministic: no trust prompt (the
 *  compress command needs a trusted workspace), no welcome page, no update or AI popups. */
const quietSettings = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'update.mode': 'none',
  'editor.hover.delay': 100,
  // model.json is one long line; wrapped, the layer under the cursor is on screen for the screenshots.
  'editor.wordWrap': 'on',
};

export function makeProfile(dir: string): Profile {
  const profile = { userDataDir: join(dir, 'user-data'), extensionsDir: join(dir, 'extensions'), configFile: join(dir, 'config.yaml') };
  mkdirSync(join(profile.userDataDir, 'User'), { recursive: true });
  mkdirSync(profile.extensionsDir, { recursive: true });
  writeFileSync(join(profile.userDataDir, 'User/settings.json'), JSON.stringify(quietSettings, null, 2));
  writeFileSync(profile.configFile, 'auth: none\ncert: false\n');
  return profile;
}

export function profileArgs(p: Profile): string[] {
  return ['--config', p.configFile, '--user-data-dir', p.userDataDir, '--extensions-dir', p.extensionsDir];
}

/** `code-server --list-extensions --show-versions`: what VS Code itself sees as installed. */
export function listExtensions(p: Profile): string[] {
  const r = spawnSync(NODE24, [CODE_SERVER_ENTRY, ...profileArgs(p), '--list-extensions', '--show-versions'], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`code-server --list-extensions failed (${r.status}): ${r.stderr}`);
  return r.stdout.split('\n').map((l) => l.trim()).filter((l) => /^[\w-]+\.[\w-]+@/.test(l));
}

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

export interface RunningCodeServer {
  url: string;
  /** Everything code-server and its extension host printed, for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/** `env` adds variables for the server and the extension host it spawns. */
export async function startCodeServer(p: Profile, logFile: string, env: Record<string, string> = {}): Promise<RunningCodeServer> {
  const port = await freePort();
  const args = [CODE_SERVER_ENTRY, ...profileArgs(p), '--auth', 'none', '--disable-telemetry', '--disable-update-check',
    '--disable-workspace-trust', '--bind-addr', `127.0.0.1:${port}`];
  // Its own process group, so stop() also ends the extension host and language server it spawns.
  const child = spawn(NODE24, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...env } });
  let out = '';
  writeFileSync(logFile, '');
  const collect = (b: Buffer) => { out += b.toString(); appendFileSync(logFile, b); };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(url, child, () => out);
  return { url, log: () => out, stop: () => stopGroup(child) };
}

async function waitForHttp(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}:\n${log()}`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer on ${url} within 60 s:\n${log()}`);
}

async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(-child.pid, 'SIGTERM');
  const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ } }, 5000);
  await exited;
  clearTimeout(timer);
}
