// CI fuzzing of the tfjs reader (see fuzz/ciRun.ts).
import { fuzzTest } from './fuzz/ciRun.js';

fuzzTest('tfjs');
