// Entry point VS Code loads in its extension host (--extensionTestsPath): runs the
// scenarios one after another, logs a line per scenario, and rejects if any failed so
// VS Code exits non-zero. Bundled to CommonJS by the runner; `vscode` is the host's module.
import { scenarios } from './scenarios.js';

export async function run(log: (line: string) => void = console.log): Promise<void> {
  const failures: string[] = [];
  for (const s of scenarios) {
    const started = Date.now();
    try {
      await s.run();
      log(`✔ ${s.name} (${Date.now() - started} ms)`);
    } catch (e) {
      failures.push(s.name);
      log(`✖ ${s.name} (${Date.now() - started} ms)\n${(e as Error).stack ?? e}`);
    }
  }
  log(`electron suite: ${scenarios.length - failures.length} passed, ${failures.length} failed`);
  if (failures.length > 0) throw new Error(`failed: ${failures.join('; ')}`);
}
