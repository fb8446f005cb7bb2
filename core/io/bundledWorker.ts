// Where a worker thread's script is. The bundles (dist/cli.js, dist/server.js, …) are built
// next to their workers (scripts/build.mjs), so from a bundle it is a sibling; from the
// TypeScript sources (tests under tsx) it is the built one in dist/, since a worker thread
// does not inherit tsx's loader.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The path of the bundled worker `name` (e.g. `worker.js`). */
export function bundledWorkerPath(name: string): string {
  const here = fileURLToPath(new URL(`./${name}`, import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL(`../../dist/${name}`, import.meta.url));
}
