// Adds up the chunk reports of bench/robustness/longRun.sh: per format the inputs, reads,
// refusals (and how many came from a stopped reader), crashes, hangs, runaway memory and files
// left behind, plus every failure line with the chunk it came from.
//   npx tsx bench/robustness/summarize.ts OUT_DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) throw new Error('usage: summarize.ts OUT_DIR');
const COLUMNS = ['inputs', 'read', 'refused', 'crashes', 'hangs', 'memory', 'left behind', 'stopped reader'] as const;
const totals = new Map<string, number[]>();
const failures: string[] = [];
let chunks = 0;
for (const f of readdirSync(dir).filter((n) => /^chunk-.*\.txt$/.test(n)).sort()) {
  const text = readFileSync(join(dir, f), 'utf8');
  if (!/^\| all /m.test(text)) continue; // unfinished chunk
  chunks++;
  for (const m of text.matchAll(/^\| ([\w-]+) +\|((?: +\d+ \|){7})/gm)) {
    if (m[1] === 'format' || m[1] === 'all') continue;
    const row = totals.get(m[1]) ?? COLUMNS.map(() => 0);
    m[2].split('|').map((x) => x.trim()).filter(Boolean).forEach((v, i) => { row[i] += Number(v); });
    totals.set(m[1], row);
  }
  for (const m of text.matchAll(/^([\w-]+): (\d+) refusals by a stopped reader/gm)) totals.get(m[1])![7] += Number(m[2]);
  for (const m of text.matchAll(/^ {2}(CRASH|HANG|MEMORY|LEFT-BEHIND) .*$/gm)) failures.push(`${f}: ${m[0].trim().slice(0, 300)}`);
}
const all = COLUMNS.map((_, i) => [...totals.values()].reduce((s, r) => s + r[i], 0));
const fmt = (n: number): string => n.toLocaleString('en-US').replace(/,/g, ' ');
console.log(`${chunks} finished chunks in ${dir}\n`);
console.log(`| format | ${COLUMNS.join(' | ')} |\n|---|${COLUMNS.map(() => '---:').join('|')}|`);
for (const [format, row] of [...totals, ['all', all] as [string, number[]]]) console.log(`| ${format} | ${row.map(fmt).join(' | ')} |`);
if (failures.length) console.log(`\n${failures.join('\n')}`);
