// Runs that must write the same bytes run on one CPU where `taskset` can pin them: the embedded
// engine splits a layer's kernels over the cores its other jobs leave idle, so under load (other
// test files) the split, and the last bits of the factors, can differ from run to run.
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** The command prefix pinning a child process to this process's first allowed CPU (empty where taskset is missing). */
export const ONE_CPU = ((): string[] => {
  const allowed = /^Cpus_allowed_list:\s*(\d+)/m.exec(existsSync('/proc/self/status') ? readFileSync('/proc/self/status', 'utf8') : '');
  return allowed && spawnSync('taskset', ['-c', allowed[1], 'true']).status === 0 ? ['taskset', '-c', allowed[1]] : [];
})();
