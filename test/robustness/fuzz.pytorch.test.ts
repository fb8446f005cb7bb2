// CI fuzzing of the pytorch reader (see fuzz/ciRun.ts).
import { fuzzTest } from './fuzz/ciRun.js';

fuzzTest('pytorch');
