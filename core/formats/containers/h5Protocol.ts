// Messages between the calling thread (containers/h5Remote.ts) and the HDF5 worker (containers/h5Thread.ts).
// Each worker serves one open file at a time; requests carry an id so answers find their caller.
import type { H5Group } from './h5Tree.js';

export type H5Request =
  | { id: number; op: 'open'; path: string; shownAs: string }
  /** All bytes of the numeric dataset at `path` (absolute in the file). */
  | { id: number; op: 'read'; path: string }
  /** Closes the open file; the worker then waits for the next `open`. */
  | { id: number; op: 'close' };

export type H5Response =
  | { id: number; ok: true; root?: H5Group; bytes?: Uint8Array }
  /**
   * `refusal`: an InputError's whole message (it names the file); `error`: anything else, a bug.
   * `retire`: libhdf5 trapped, which may leave its state broken: the worker serves no other file.
   */
  | { id: number; ok: false; refusal?: string; error?: string; retire?: boolean };


/** What the worker posts once libhdf5 is loaded, so a request's deadline counts its work only. */
export const H5_READY = 'h5-ready';

/** What a successful response carries besides its id. */
export type H5Payload = Omit<H5Response & { ok: true }, 'id' | 'ok'>;
