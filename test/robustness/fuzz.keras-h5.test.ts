// CI fuzzing of the keras-h5 reader (see fuzz/ciRun.ts).
import { fuzzTest } from './fuzz/ciRun.js';

fuzzTest('keras-h5');
