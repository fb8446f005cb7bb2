// The runner for PyTorch checkpoints and safetensors files whose module the user names
// (`--torch-model file.py:factory`), and for Hugging Face folders (their module built by
// transformers): every step runs in one python/torch_runner.py process per job, which builds
// the module, loads the checkpoint into it and runs it on the device. Candidates travel as
// factors and are swapped into the module there, as the written file would be loaded
// (python/reducible_load.py); only numbers come back.
import { GRAM_PER_INPUT } from '../compress/patches.js';
import { SENSITIVITY_SAMPLES, sensitivityGain } from '../compress/sensitivity.js';
import { firstRows, type Tensor } from '../eval/tensor.js';
import type { StoredModel } from '../formats/storedModel.js';
import { checkpoint } from '../types.js';
import type { ModelRunner, RunnerSite } from './runner.js';
import { torchFinetune } from './torchFinetune.js';
import { factorArrays, inputArrays, TorchRunnerProcess, type Arrays } from './torchProcess.js';

/** The process, started and the module opened on first use; a bad module fails that use with one line naming its file. */
export class OpenModule {
  private opened?: Promise<{ proc: TorchRunnerProcess; tokens: boolean }>;

  /** `site`: the module (`torchModel`; absent: a folder's own) and the interpreter (`python`). */
  constructor(private readonly checkpointPath: string, private readonly site: Pick<RunnerSite, 'torchModel' | 'python'>) {}

  async get(): Promise<TorchRunnerProcess> {
    return (await this.open()).proc;
  }

  /** Whether the module takes token ids (it has an nn.Embedding): then each input row is a sequence of predictions. */
  async tokens(): Promise<boolean> {
    return (await this.open()).tokens;
  }

  private open(): Promise<{ proc: TorchRunnerProcess; tokens: boolean }> {
    const { checkpointPath, site } = this;
    return this.opened ??= (async () => {
      const proc = new TorchRunnerProcess(site.python);
      try {
        const { value } = await proc.call('open', { module: site.torchModel, checkpoint: checkpointPath });
        return { proc, tokens: value.tokens };
      } catch (e) {
        proc.dispose();
        throw e;
      }
    })();
  }

  /** Ends the process, if one was started. */
  async dispose(): Promise<void> {
    (await this.opened?.catch(() => undefined))?.proc.dispose();
  }
}

/**
 * A language model's sensitivity probes and judged candidates (the refinement's plans, the
 * guard's two) see at most this many tokens: each token is one prediction, so sequences counted
 * as other models' inputs are (SENSITIVITY_SAMPLES, the refinement's 5 000) would cost every
 * run T times the outputs the other runners decide on.
 */
const TOKENS_PER_RUN = 8192;

export function torchRunner(model: StoredModel<unknown>, site: RunnerSite): ModelRunner {
  const module = new OpenModule(model.path, site);
  const proc = (): Promise<TorchRunnerProcess> => module.get();
  /** Runs `fn` with `x` and the original's outputs on it kept in the worker. */
  /** `x` cut to `rows` inputs, or for token ids [N, T] to TOKENS_PER_RUN's worth of sequences. */
  const runInputs = async (x: Tensor, rows = x.shape[0]): Promise<Tensor> => {
    const cap = await module.tokens() && x.shape.length === 2 ? Math.max(1, Math.floor(TOKENS_PER_RUN / x.shape[1])) : rows;
    return firstRows(x, Math.min(x.shape[0], rows, cap));
  };
  const withReference = async <T>(all: Tensor, fn: (p: TorchRunnerProcess, classifier: boolean) => Promise<T>, rows?: number): Promise<T> => {
    const p = await proc();
    const x = await runInputs(all, rows);
    const { value } = await p.call('reference', {}, inputArrays(x), x.shape);
    try {
      return await fn(p, value.classifier);
    } finally {
      await p.call('release', {});
    }
  };
  return {
    async inputMoments(x) {
      // Whitening reaches nn.Linear and ungrouped nn.Conv1d/2d layers; the worker reports which it observed.
      const names = model.layers.filter((l) => (l.kind === 'linear' || l.kind === 'conv1d' || l.kind === 'conv2d') && l.factorisable).map((l) => l.name);
      const { value, arrays } = await (await proc()).call('moments', { names, gramPerInput: GRAM_PER_INPUT }, inputArrays(x), x.shape);
      return new Map([...arrays].map(([key, c]) => {
        const name = key.slice('c:'.length);
        return [name, { dim: Math.round(Math.sqrt(c.length)), samples: value.samples[name], c: c as Float64Array }];
      }));
    },
    judge: (x, fn) => withReference(x, (p, classifier) => fn({
      classifier,
      score: async (factors) => (await p.call('score', {}, await factorArrays(factors))).value,
    })),
    sensitivity: (probes, x, opts) => withReference(x, async (p) => {
      const gains = new Map<string, number>();
      for (const [i, { factors: f, discarded }] of probes.entries()) {
        await checkpoint(opts.signal);
        const arrays: Arrays = [[`a:${f.layer.name}`, f.a], [`b:${f.layer.name}`, f.b]];
        const { err2, ref2 } = discarded > 1e-12 ? (await p.call('probe', {}, arrays)).value : { err2: 0, ref2: 1 };
        gains.set(f.layer.name, sensitivityGain(err2, ref2, discarded));
        opts.progress?.report((i + 1) / probes.length, `probed ${f.layer.name}`);
      }
      return gains;
    }, SENSITIVITY_SAMPLES),
    finetune: async (factors, x, o) => torchFinetune(await proc(), factors, x, o),
    ready: async () => { await proc(); },
    dispose: () => module.dispose(),
  };
}
