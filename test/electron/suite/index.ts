// Entry point VS Code loads in its extension host (--extensionTestsPath): runs the
// scenarios one after another, prints a line per scenario, and rejects if any failed so
// VS Code exits non-zero. Bundled to CommonJS by the runner; `vscode` is the host's module.
import { scenarios } from './scenarios.js';

export async function run(): Promise<void> {
  const failures: string[] = [];
  for (const s of scenarios) {
    const started = Date.now();
    try {
      await s.run();
      console.log(`✔ ${s.name} (${Date.now() - started} ms)`);
    } catch (e) {
      failures.push(s.name);
      console.log(`✖ ${s.name} (${Date.now() - started} ms)\n${(e as Error).stack ?? e}`);
    }
  }
  console.log(`electron suite: ${scenarios.length - failures.length} passed, ${failures.length} failed`);
  if (failures.length > 0) throw new Error(`failed: ${failures.join('; ')}`);
}
