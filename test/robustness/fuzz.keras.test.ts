// CI fuzzing of the keras reader (see fuzz/ciRun.ts).
import { fuzzTest } from './fuzz/ciRun.js';

fuzzTest('keras', 'libhdf5 can loop on corrupt variable-length attributes (h5py too): HDF5 reads need a worker that can be stopped');
