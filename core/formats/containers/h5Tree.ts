// An HDF5 file's structure as plain data: the HDF5 worker (containers/h5Thread.ts) walks an opened file
// once into this snapshot, and the Keras reader and writer look names, shapes and attributes
// up here, in the calling thread, without touching libhdf5. Dataset bytes are fetched on
// demand through containers/h5Remote.ts.
import type { DType } from '../../types.js';
import { InputError } from '../../types.js';

export interface H5Attr {
  name: string;
  /** HDF5 type class: 0 integer, 1 float, 3 string; others are kept but carry no value. */
  type: number;
  vlen: boolean;
  /** Bytes per element (for fixed-length strings, the string width). */
  size: number;
  shape: number[] | null;
  /** h5wasm's dtype code of a numeric attribute (`<f8`, `<i4`, …). */
  dtype?: string;
  value?: unknown;
  /** Why the value could not be read (a corrupt attribute is refused when it is used). */
  error?: string;
}

interface H5NodeBase { name: string; path: string; attrs: H5Attr[] }
export interface H5Group extends H5NodeBase { kind: 'group'; children: H5Node[] }
export interface H5Dataset extends H5NodeBase {
  kind: 'dataset';
  /** Our element type, or undefined for strings, compounds and exotic integers. */
  dtype?: DType;
  /** HDF5 type class: 0 integer, 1 float, 3 string, 6 compound, … (what a refusal names when `dtype` is undefined). */
  typeClass: number;
  shape: number[] | null;
}
/** Soft links, named types: listed so a writer can refuse to copy them. */
export interface H5Other extends H5NodeBase { kind: 'other' }
export type H5Node = H5Group | H5Dataset | H5Other;

/** The node at `path` (slash-separated, relative to `from`), or undefined. */
export function child(from: H5Group, path: string): H5Node | undefined {
  let node: H5Node | undefined = from;
  for (const part of path.split('/').filter(Boolean)) {
    node = node?.kind === 'group' ? node.children.find((c) => c.name === part) : undefined;
  }
  return node;
}

/** A string or list-of-strings attribute (fixed or variable length), or undefined. */
export function stringAttr(node: H5Node, name: string, shownAs: string): string | string[] | undefined {
  const a = node.attrs.find((x) => x.name === name);
  if (!a || a.type !== 3) return undefined;
  if (a.error) throw new InputError(shownAs, `corrupt HDF5 file (attribute ${node.path}@${name}: ${a.error})`);
  const v = a.value;
  if (typeof v === 'string') return v;
  return Array.isArray(v) && v.every((s) => typeof s === 'string') ? v as string[] : undefined;
}

/**
 * A list of names as Keras stores it: one attribute, or `name0`, `name1`, … when the list
 * passed HDF5's 64 KB object-header limit (Keras' save_attributes_to_hdf5_group). An
 * empty list is stored as an empty float array, which reads as [].
 */
export function nameListAttr(node: H5Node, name: string, shownAs: string): string[] {
  const one = stringAttr(node, name, shownAs);
  if (one !== undefined) return typeof one === 'string' ? [one] : one;
  const out: string[] = [];
  for (let i = 0; node.attrs.some((a) => a.name === `${name}${i}`); i++) {
    const part = stringAttr(node, `${name}${i}`, shownAs);
    out.push(...(part === undefined ? [] : typeof part === 'string' ? [part] : part));
  }
  return out;
}
