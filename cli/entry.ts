// The `reducible` command's first module (dist/cli.js). A `compress` is supervised from here
// (cli/supervise.ts) before the rest of the CLI is loaded: only the job's own process needs it,
// and the supervisor's start is then one Node start, not one more load of every format.
import { isJob, isJobProcess, superviseJob } from './supervise.js';

const [name, ...rest] = process.argv.slice(2);
if (name === 'compress' && !isJobProcess()) process.exitCode = await superviseJob(rest, isJob(rest));
else await import('./main.js');
