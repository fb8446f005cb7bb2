// Records test/regression/outputHashes.json from a checkout, for outputHashes.test.ts to
// compare later builds with.
//
// usage: npx tsx test/regression/record.ts [CHECKOUT] [--runs N] [--only SUBSTRING] [--dry-run]
//
//   CHECKOUT  the checkout whose behaviour becomes the reference (default: this one). It must
//             be built (npm run build there) and have node_modules (a symlink will do). To
//             record from a past commit without touching your working tree:
//               git worktree add /tmp/ref <commit> && ln -s "$PWD/node_modules" /tmp/ref/
//               (cd /tmp/ref && npm run build) && npx tsx test/regression/record.ts /tmp/ref
//   --runs N  build the fixtures and run every case N times (default 2), each time in fresh
//             folders, and refuse to record a case whose files differ between runs: the
//             recorded hashes must be reproducible, not one run's luck.
//   --only S  re-record only the cases whose name contains S (the others are kept as they are).
//   --dry-run print what would be recorded and the timings; write nothing.
//
// Re-record only when a change of output is intended, and say so in the commit that changes
// outputHashes.json; a refactor must leave it untouched.
import { writeFileSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildFixtures, CASES, HASHES, HERE_ROOT, headCommit, inputHashes, runCases, tempDir, type CaseResult, type Recorded } from './harness.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    argv.splice(i, 2);
    return v;
  };
  const runs = Number(flag('--runs') ?? 2);
  const only = flag('--only');
  const dry = argv.includes('--dry-run');
  const root = resolve(argv.find((a) => !a.startsWith('--')) ?? HERE_ROOT);
  if (!existsSync(join(root, 'dist/cli.js'))) throw new Error(`${root}/dist/cli.js is missing: run npm run build there`);
  const cases = CASES.filter((c) => only === undefined || c.name.includes(only));

  let inputs: Record<string, string> | undefined;
  const results: CaseResult[][] = [];
  for (let i = 0; i < runs; i++) {
    const work = tempDir('reducible-record-');
    const t0 = performance.now();
    const fixtures = await buildFixtures(root, join(work, 'fixtures'));
    const ins = inputHashes(fixtures);
    if (inputs && JSON.stringify(ins) !== JSON.stringify(inputs)) {
      const diff = Object.keys(ins).filter((k) => ins[k] !== inputs![k]);
      throw new Error(`fixtures differ between runs: ${diff.join(', ')}`);
    }
    inputs = ins;
    results.push(await runCases(root, fixtures, cases, work));
    console.error(`run ${i + 1}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    rmSync(work, { recursive: true, force: true });
  }

  const unstable: string[] = [];
  cases.forEach((c, i) => {
    const [first, ...rest] = results.map((r) => r[i]);
    for (const other of rest) {
      const names = new Set([...Object.keys(first.files), ...Object.keys(other.files)]);
      for (const f of names) if (first.files[f] !== other.files[f]) unstable.push(`${c.name}: ${f}`);
    }
    console.error(`${c.name.padEnd(36)} ${results.map((r) => r[i].seconds.toFixed(1)).join(' / ')} s  ${Object.keys(first.files).join(', ')}`);
  });
  if (unstable.length) throw new Error(`not reproducible run to run, nothing recorded:\n  ${unstable.join('\n  ')}`);

  const previous: Recorded | undefined = only !== undefined && existsSync(HASHES) ? JSON.parse(readFileSync(HASHES, 'utf8')) as Recorded : undefined;
  const commit = headCommit(root);
  const recorded: Recorded = {
    recordedFrom: commit,
    note: 'Written by test/regression/record.ts; checked by test/regression/outputHashes.test.ts. Re-record only for an intended change of output.',
    inputs: inputs!,
    cases: { ...previous?.cases },
  };
  cases.forEach((c, i) => {
    recorded.cases[c.name] = { command: `compress <${c.model}> ${c.args.join(' ')} --engine embedded -o ${c.out} --json`, files: results[0][i].files };
  });
  // Keep the cases in CASES order.
  recorded.cases = Object.fromEntries(CASES.filter((c) => recorded.cases[c.name]).map((c) => [c.name, recorded.cases[c.name]]));
  const text = `${JSON.stringify(recorded, null, 2)}\n`;
  if (dry) process.stdout.write(text);
  else {
    writeFileSync(HASHES, text);
    console.error(`wrote ${HASHES} (${Object.keys(recorded.cases).length} cases, from ${commit} at ${root})`);
  }
}

await main();
