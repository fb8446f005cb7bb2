// CI fuzzing of the keras-h5 reader (see fuzz/ciRun.ts).
import { fuzzTest } from './fuzz/ciRun.js';

fuzzTest('keras-h5', 'libhdf5 can loop on corrupt variable-length attributes (h5py too): HDF5 reads need a worker that can be stopped');
