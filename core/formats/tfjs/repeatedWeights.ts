// Weights a graph model stores more than once, byte for byte, under other names, kept once: the
// graph is rewired so every consumer of a copy reads the first, and the copies' Const nodes and
// bytes are left out of everything read from then on (layers, spectra, plans, written files).
// TF.js's converter writes each Const it was given, and graphs that apply one kernel at several
// places (Basic Pitch's constant-Q transform runs the same two 256×36 filter banks and one
// low-pass filter at each of nine octaves: 80 % of its parameters are such copies) store it once
// per place. Keeping one is lossless, and the parameters it saves count toward a --ratio before
// any layer is cut.
import { createHash } from 'node:crypto';
import type { StoredTensor } from '../storedModel.js';
import type { GraphNode } from './read.js';

/** Weights smaller than this are left alone (shape and index constants): too small to matter, and often repeated on purpose. */
const MIN_VALUES = 64;

export interface RepeatsKept {
  /** The tensors left, each once. */
  tensors: StoredTensor[];
  /** The graph's nodes with the copies' Const nodes left out and their consumers reading the first copy. */
  nodes: GraphNode[];
  /** Parameters of the copies left out. */
  shared: number;
}

const valuesOf = (t: StoredTensor): number => t.shape.reduce((a, b) => a * b, 1);

/** What two tensors must share besides their bytes to be the same weight. */
function signature(t: StoredTensor): string {
  return JSON.stringify([t.dtype, t.shape, t.affine ?? null]);
}

/** Bytes hashed at a time: a large weight's bytes never sit in memory whole. */
const HASH_CHUNK = 8 * 2 ** 20;

async function digest(t: StoredTensor): Promise<string> {
  const hash = createHash('sha256');
  for (let at = 0; at < t.storedBytes; at += HASH_CHUNK) hash.update(await t.source.read(t.offset + at, Math.min(HASH_CHUNK, t.storedBytes - at)));
  return hash.digest('hex');
}

/** The copy each repeated Const weight stands for, by name: only tensors of the same signature are read and hashed. */
async function copiesOf(tensors: StoredTensor[], isConst: (name: string) => boolean): Promise<Map<string, string>> {
  const bySignature = new Map<string, StoredTensor[]>();
  for (const t of tensors) {
    if (valuesOf(t) < MIN_VALUES || !isConst(t.name)) continue;
    const key = signature(t);
    bySignature.set(key, [...bySignature.get(key) ?? [], t]);
  }
  const firstOf = new Map<string, string>();
  for (const group of bySignature.values()) {
    if (group.length < 2) continue;
    const first = new Map<string, string>();
    for (const t of group) {
      const d = await digest(t);
      const kept = first.get(d);
      if (kept === undefined) first.set(d, t.name);
      else firstOf.set(t.name, kept);
    }
  }
  return firstOf;
}

/** `name`, `name:0` or `^name` read from the first copy where `name` is a copy. */
function rewire(input: string, firstOf: Map<string, string>): string {
  const m = /^(\^?)(.*?)(:0)?$/.exec(input)!;
  const first = firstOf.get(m[2]);
  return first === undefined ? input : `${m[1]}${first}${m[3] ?? ''}`;
}

/**
 * The graph with each repeated weight kept once. `pinned`: names the model's signature refers to,
 * which must stay as they are.
 */
export async function keepRepeatsOnce(tensors: StoredTensor[], nodes: GraphNode[], pinned: (name: string) => boolean): Promise<RepeatsKept> {
  const consts = new Set(nodes.filter((n) => n.op === 'Const').map((n) => n.name));
  const firstOf = await copiesOf(tensors, (name) => consts.has(name) && !pinned(name));
  if (firstOf.size === 0) return { tensors, nodes, shared: 0 };
  return {
    tensors: tensors.filter((t) => !firstOf.has(t.name)),
    nodes: nodes.filter((n) => !firstOf.has(n.name)).map((n) => {
      const input = n.input?.map((i) => rewire(i, firstOf));
      return input?.some((v, k) => v !== n.input![k]) ? { ...n, input } : n;
    }),
    shared: tensors.filter((t) => firstOf.has(t.name)).reduce((s, t) => s + valuesOf(t), 0),
  };
}
