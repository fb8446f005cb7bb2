// The vocabulary of torch.save's data.pkl, as the whitelist the pickle parser consults: the
// few torch/collections globals a checkpoint of tensors uses, each turned into an inert
// record. Tensors become TensorRecords (storage key, dtype, offset, shape, stride); their
// bytes stay in the zip until someone reads them.
import { checkedSize } from '../../io/decode.js';
import type { DType } from '../../types.js';
import { InputError } from '../../types.js';
import { PickleCallable, type PickleHooks } from '../containers/pickle.js';

/** A storage type named by the checkpoint (`torch.FloatStorage`, `torch.float32`, …). */
export class StorageType {
  /** `dtype` is undefined for element types we cannot decode (int16, complex, …). */
  constructor(readonly name: string, readonly dtype: DType | undefined) {}
}
export interface StorageRef { key: string; type: StorageType; numel: number }
export interface TensorRecord { storage: StorageRef; offset: number; shape: number[]; stride: number[] }

// bool is stored one byte per element: read and copied as uint8.
const STORAGE_DTYPES: Record<string, DType> = {
  Float: 'float32', Double: 'float64', Half: 'float16', BFloat16: 'bfloat16',
  Long: 'int64', Int: 'int32', Char: 'int8', Byte: 'uint8', Bool: 'uint8',
};
const TORCH_DTYPES: Record<string, DType> = {
  float32: 'float32', float: 'float32', float64: 'float64', double: 'float64', float16: 'float16', half: 'float16',
  bfloat16: 'bfloat16', int64: 'int64', long: 'int64', int32: 'int32', int: 'int32', int8: 'int8', uint8: 'uint8', bool: 'uint8',
};
/** Classes _rebuild_from_type_v2 may name: plain tensors and parameters carry no extra state we need. */
const TENSOR_CLASSES = new Set(['torch.Tensor', 'torch.nn.parameter.Parameter']);

export const isTensorRecord = (v: unknown): v is TensorRecord =>
  typeof v === 'object' && v !== null && 'storage' in v && 'stride' in v;

export function torchHooks(file: string): PickleHooks {
  const fail = (msg: string): never => { throw new InputError(file, msg); };
  const int = (v: unknown, what: string): number => (Number.isSafeInteger(v) && (v as number) >= 0 ? v as number : fail(`${what} is not a non-negative integer`));
  const dims = (v: unknown, what: string): number[] => (Array.isArray(v) ? v.map((d) => int(d, what)) : fail(`${what} is not a tuple`));

  const rebuildTensor = new PickleCallable('torch._utils._rebuild_tensor_v2', (args): TensorRecord => {
    const [storage, offset, size, stride] = args;
    if (!(typeof storage === 'object' && storage !== null && 'key' in storage)) return fail('tensor rebuilt from something that is not a storage');
    const shape = dims(size, 'tensor size');
    const strides = dims(stride, 'tensor stride');
    if (strides.length !== shape.length || checkedSize(shape) === undefined) fail(`tensor has an invalid shape ${JSON.stringify(size)}`);
    return { storage: storage as StorageRef, offset: int(offset, 'storage offset'), shape, stride: strides };
  });
  const rebuildParameter = new PickleCallable('torch._utils._rebuild_parameter', (args) => args[0]);
  const rebuildFromType = new PickleCallable('torch._tensor._rebuild_from_type_v2', (args) => {
    const [fn, cls, fnArgs] = args;
    if (!(fn instanceof PickleCallable) || typeof cls !== 'string' || !TENSOR_CLASSES.has(cls) || !Array.isArray(fnArgs)) {
      return fail('refusing _rebuild_from_type_v2 of a non-tensor type');
    }
    return fn.call(fnArgs);
  });
  const globals: Record<string, unknown> = {
    'collections.OrderedDict': new PickleCallable('collections.OrderedDict', () => new Map()),
    'torch._utils._rebuild_tensor_v2': rebuildTensor,
    'torch._utils._rebuild_tensor': rebuildTensor,
    'torch._utils._rebuild_parameter': rebuildParameter,
    'torch._utils._rebuild_parameter_with_state': rebuildParameter,
    'torch._tensor._rebuild_from_type_v2': rebuildFromType,
  };
  for (const c of TENSOR_CLASSES) globals[c] = c;

  return {
    refusalHint: 'only checkpoints of tensors are read: save model.state_dict(), not the model object',
    global(module, name) {
      const qualified = `${module}.${name}`;
      if (Object.hasOwn(globals, qualified)) return globals[qualified];
      if (module !== 'torch') return undefined;
      // Any storage class is an inert marker; one we cannot decode (int16, complex, float8, …)
      // is refused by name only if a tensor actually uses it.
      const storage = /^(\w+)Storage$/.exec(name)?.[1];
      if (storage === 'Untyped') return new StorageType(name, 'uint8');
      if (storage) return new StorageType(name, Object.hasOwn(STORAGE_DTYPES, storage) ? STORAGE_DTYPES[storage] : undefined);
      if (Object.hasOwn(TORCH_DTYPES, name)) return new StorageType(name, TORCH_DTYPES[name]);
      return undefined;
    },
    persistentLoad(pid) {
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== 5) return fail('unsupported persistent id in pickle (not a torch storage)');
      const [, type, key, , numel] = pid;
      if (!(type instanceof StorageType) || typeof key !== 'string') return fail('malformed torch storage reference');
      return { key, type, numel: int(numel, 'storage size') } satisfies StorageRef;
    },
  };
}

/**
 * The state dict inside a checkpoint: the dict holding the most tensors, searched through
 * nested dicts so `{"state_dict": {...}}`, `{"model": {...}, "epoch": 3}` work too.
 */
export function findStateDict(root: unknown): Map<string, TensorRecord> | undefined {
  let best: Map<unknown, unknown> | undefined, bestCount = 0;
  const seen = new Set<unknown>();
  const visit = (v: unknown, depth: number): void => {
    if (!(v instanceof Map) || seen.has(v) || depth > 6) return;
    seen.add(v);
    let count = 0;
    for (const x of v.values()) if (isTensorRecord(x)) count++;
    if (count > bestCount) { best = v; bestCount = count; }
    for (const x of v.values()) visit(x, depth + 1);
  };
  visit(root, 0);
  if (!best) return undefined;
  const out = new Map<string, TensorRecord>();
  for (const [k, v] of best) if (typeof k === 'string' && isTensorRecord(v)) out.set(k, v);
  return out;
}
