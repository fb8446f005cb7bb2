// Runs the built CLI (dist/cli.js) as a user would.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PYTHON } from './python.js';

export interface CliResult { code: number; stdout: string; stderr: string }

export function cli(...args: string[]): CliResult {
  return cliWith({}, ...args);
}

/** `cli` with `env` added to this process's environment (the Python it starts sees it too). */
export function cliWith(env: NodeJS.ProcessEnv, ...args: string[]): CliResult {
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args], { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(prefix = 'reducible-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Runs a fixture-generating script into a fresh folder and returns it. */
export function makeFixtures(script: string): string {
  const dir = tempDir();
  const r = spawnSync(PYTHON, [script, dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return dir;
}

/** stderr without the progress lines a job prints every 10 s when stderr is not a terminal (cli/progressLines.ts): a slow, loaded run prints some before its refusal. */
export const withoutProgress = (stderr: string): string => stderr.split('\n').filter((l) => !/ — \d+ % done, /.test(l)).join('\n');
