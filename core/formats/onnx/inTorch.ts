// Fine-tuning an ONNX model in the PyTorch runner (python/onnx_graph.py runs the graph as a
// torch.nn.Module): the distillation step of a 1.3 M parameter MLP costs what the same step
// written in PyTorch costs, against 4–5× that in TF.js on tfjs-backend-wasm (one thread, and
// every product's weights packed again each step), and it runs on the GPU where there is one.
// Where Python, torch or an operator is missing, fine-tuning runs in TF.js (finetune.ts) as
// before; `--engine torch` requires PyTorch, `--engine embedded` keeps TF.js.
import { initializerNames, isDefaultDomain, type OnnxModel } from './read.js';
import { readNodes } from './inTfjsGraph.js';
import { ATTR, int64, type AttributeMessage } from './schema.js';
import { checkRunsInTfjs, graphEnds } from './inTfjs.js';
import { finetuneOnnx } from './finetune.js';
import type { FinetuneOptions, FinetuneResult } from '../../compress/distil.js';
import type { Factorisation } from '../../compress/types.js';
import type { Tensor } from '../../eval/tensor.js';
import { TorchRunnerProcess, type Arrays } from '../../runners/torchProcess.js';
import type { OnnxAttribute, OnnxGraphMessage } from '../../runners/torchRunnerProtocol.js';
import { torchFinetune } from '../../runners/torchFinetune.js';
import type { FinetuneRuntime } from '../../runners/runner.js';
import { CancelledError, InputError } from '../../types.js';

const FLOAT = new Set(['float32', 'float16', 'bfloat16', 'float64']);
/** Integer tensors up to this size are shape arithmetic, sent as numbers (inTfjs.ts's rule). */
const MAX_INTS = 1 << 16;
/** Integer values JSON carries to Python's int64 exactly enough (Slice's "to the end" is 2⁶³ − 1). */
const INT_LIMIT = 2 ** 62;

function attribute(a: AttributeMessage): OnnxAttribute | undefined {
  switch (a.type) {
    case ATTR.FLOAT: return a.f ?? 0;
    case ATTR.INT: return int64(a.i);
    case ATTR.STRING: return new TextDecoder().decode(a.s ?? new Uint8Array());
    case ATTR.FLOATS: return a.floats ?? [];
    case ATTR.INTS: return (a.ints ?? []).map(int64);
    default: return undefined; // tensors: a Constant's value is among the model's tensors
  }
}

/** The graph as the runner builds it, and its float tensors as arrays `t:<name>`. */
export async function graphMessage(model: OnnxModel): Promise<{ graph: OnnxGraphMessage; arrays: Arrays }> {
  const read = await readNodes(model.extra);
  const nodes = read.map((n) => ({
    op: isDefaultDomain(n) ? n.opType : `${n.domain}.${n.opType}`, name: n.name, inputs: n.input, outputs: n.output,
    attrs: Object.fromEntries(n.attribute.flatMap((a) => { const v = attribute(a); return v === undefined ? [] : [[a.name, v]]; })),
  }));
  const floats: OnnxGraphMessage['floats'] = {}, ints: OnnxGraphMessage['ints'] = {}, arrays: Arrays = [];
  for (const t of model.tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (FLOAT.has(t.dtype)) {
      floats[t.name] = t.shape;
      arrays.push([`t:${t.name}`, await model.readTensor(t.name)]);
    } else if (count <= MAX_INTS) {
      ints[t.name] = { shape: t.shape, values: Array.from(await model.readTensor(t.name), (v) => Math.max(-INT_LIMIT, Math.min(INT_LIMIT, v))) };
    }
  }
  const layers = model.layers.map((l) => ({ name: l.name, kind: l.kind, weight: l.weight, transposed: l.transposed === true }));
  return { graph: { ...graphEnds(model, read), opset: model.extra.opset, nodes, floats, ints, layers }, arrays };
}

/**
 * Fine-tuning of one job's ONNX model: `check` (before any work) opens the graph in the PyTorch
 * runner, or finds why it cannot and checks that TF.js can; `finetune` then trains where it was
 * opened. One process per job, ended by `dispose`.
 */
export class OnnxTrainer {
  private torch?: { proc: TorchRunnerProcess; device: string };
  /** Why PyTorch does not train this model (shown in the report), where it does not. */
  private notInTorch?: string;

  constructor(private readonly model: OnnxModel, private readonly where: FinetuneRuntime, private readonly python?: string) {}

  async check(): Promise<void> {
    if (this.where !== 'tfjs') {
      const proc = new TorchRunnerProcess(this.python);
      try {
        // The handshake first: where Python or torch is missing, the model's tensors are not read for nothing.
        const device = await proc.device();
        const { graph, arrays } = await graphMessage(this.model);
        await proc.call('open', { checkpoint: this.model.path, graph }, arrays);
        this.torch = { proc, device };
        return;
      } catch (e) {
        proc.dispose();
        if (this.where === 'pytorch') throw e;
        this.notInTorch = (e as Error).message;
      }
    }
    await checkRunsInTfjs(this.model);
  }

  async finetune(factors: Map<string, Factorisation>, x: Tensor, o: FinetuneOptions, retrained: Map<string, Float32Array>): Promise<FinetuneResult> {
    if (this.torch && ![...factors.values()].some((f) => f.layout)) {
      try {
        return { ...await torchFinetune(this.torch.proc, factors, x, o, { names: this.alsoTrained(factors), retrained }), trainedIn: `PyTorch (${this.torch.device})` };
      } catch (e) {
        if (e instanceof CancelledError || this.where === 'pytorch' || e instanceof InputError) throw e;
        this.notInTorch = (e as Error).message;
      }
    } else if (this.torch) {
      this.notInTorch = 're-laid-out factors are trained in TF.js';
    }
    const result = await finetuneOnnx(this.model, factors, x, o, retrained);
    return { ...result, trainedIn: 'TF.js', ...(this.notInTorch ? { notInPyTorch: this.notInTorch } : {}) };
  }

  /** The stored tensors TF.js would train besides the factors (finetune.ts): layers left dense, and every layer's bias, where they are initializers. */
  private alsoTrained(factors: Map<string, Factorisation>): string[] {
    const initializers = initializerNames(this.model.extra);
    const names = this.model.layers.flatMap((l) => [...(factors.has(l.name) ? [] : [l.weight]), ...(l.bias ? [l.bias] : [])]);
    return [...new Set(names.filter((n) => initializers.has(n)))];
  }

  dispose(): void {
    this.torch?.proc.dispose();
  }
}
