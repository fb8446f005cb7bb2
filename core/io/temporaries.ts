// Every temporary file and folder this process has made and not yet renamed or removed, so a
// process that has to end before its jobs can clean up (a second signal, a stuck step) removes
// them first, and so a supervising process (cli/supervise.ts) can remove them for a job
// process it had to kill.
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';

const live = new Set<string>();
let listener: ((path: string, live: boolean) => void) | undefined;

export function trackTemporary(path: string): void {
  live.add(path);
  listener?.(path, true);
}

export function untrackTemporary(path: string): void {
  if (live.delete(path)) listener?.(path, false);
}

export const isTrackedTemporary = (path: string): boolean => live.has(path);

/** Tells `report` of every temporary made or gone from now on (one listener: the supervised job's channel). */
export function reportTemporaries(report: (path: string, live: boolean) => void): void {
  listener = report;
  for (const path of live) report(path, true);
}

/** Deletes the temporaries of this process now (or, given `paths`, those: another process's). */
export function removeTemporariesSync(paths: Iterable<string> = live): void {
  for (const path of [...paths]) rmSync(path, { force: true, recursive: true });
  if (paths === live) live.clear();
}

/** A new private folder (mkdtemp's `prefix`), tracked until removeTemporaryFolder. */
export async function makeTemporaryFolder(prefix: string): Promise<string> {
  const dir = await mkdtemp(prefix);
  trackTemporary(dir);
  return dir;
}

export async function removeTemporaryFolder(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  untrackTemporary(dir);
}
