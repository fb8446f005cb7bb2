// CI fuzzing of the safetensors reader (see fuzz/ciRun.ts).
import { fuzzTest } from './fuzz/ciRun.js';

fuzzTest('safetensors');
