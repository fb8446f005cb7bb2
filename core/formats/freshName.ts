// Graph rewrites (ONNX, TF.js graph models) add nodes and tensors next to the user's own.

/** `base`, or `base_1`, `base_2`, … — the first not in `taken`, which then takes it. */
export function freshName(taken: Set<string>, base: string): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}
