// The suite as an extension of its own, for hosts without --extensionTestsPath (code-server):
// activated on startup, it runs the scenarios and writes their log, then a last line
// `RESULT pass|fail`, to the file named by REDUCIBLE_SUITE_LOG.
import { appendFileSync } from 'node:fs';
import { run } from './index.js';

export function activate(): void {
  const file = process.env.REDUCIBLE_SUITE_LOG;
  if (!file) throw new Error('REDUCIBLE_SUITE_LOG is not set');
  const log = (line: string) => appendFileSync(file, `${line}\n`);
  run(log).then(() => log('RESULT pass'), (e: Error) => log(`RESULT fail: ${e.message}`));
}
