// The PyTorch runner's input second moments (python/torch_runner.py `moments`), which whitening
// of --torch-model checkpoints starts from: each nn.Linear's XᵀX/N, and each nn.Conv1d/2d's over
// its input patches, must equal what plain forward hooks and numpy compute for it, including the
// q/k/v projections that share one summed Gram, and with more calibration rows than one batch
// or one f64 slice holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GRAM_PER_INPUT } from '../../core/compress/patches.js';
import { TorchRunnerProcess, type Reply } from '../../core/runners/torchProcess.js';
import { tempDir } from '../helpers/cli.js';
import { PYTHON } from '../helpers/python.js';

test('runner moments equal numpy f64 Grams of every nn.Linear input (q/k/v share one Gram; several batches and slices)', async () => {
  const dir = tempDir();
  // 600 windows of 32 tokens: 19 200 rows, three batches of BATCH_TOKENS, each summed in GRAM_ROWS slices.
  const train = spawnSync(PYTHON, ['examples/tiny-lm/train.py', '--config', 'small', '--steps', '3', '--calibration', '600', '--out', dir, '--corpus', 'README.md'], { encoding: 'utf8' });
  assert.equal(train.status, 0, train.stderr);
  // The reference: every nn.Linear's input by plain hooks, no sharing, summed in numpy f64.
  const expected = spawnSync(PYTHON, ['-c', `import sys, numpy as np, torch
sys.path[:0] = ['python', 'examples/tiny-lm']
import model as lm
from reducible_load import read_safetensors
m = lm.small(); m.load_state_dict(read_safetensors(sys.argv[1])[0]); m.eval()
x = torch.from_numpy(np.load(sys.argv[2])).long()
grams = {}
def hook(name):
    def f(mod, args):
        a = args[0].reshape(-1, args[0].shape[-1]).double().numpy()
        g, n = grams.get(name, (0, 0)); grams[name] = (g + a.T @ a, n + a.shape[0])
    return f
for name, mod in m.named_modules():
    if isinstance(mod, torch.nn.Linear): mod.register_forward_pre_hook(hook(name))
with torch.no_grad():
    for i in range(0, len(x), 50): m(x[i:i + 50])
np.savez(sys.argv[3], **{k: g / n for k, (g, n) in grams.items()})
`, join(dir, 'model.safetensors'), join(dir, 'calibration.npy'), join(dir, 'expected.npz')], { encoding: 'utf8' });
  assert.equal(expected.status, 0, expected.stderr);
  const want = readNpz(join(dir, 'expected.npz'));

  const names = [...want.keys()];
  const { value, arrays } = await runnerMoments(`${resolve('examples/tiny-lm/model.py')}:small`, join(dir, 'model.safetensors'), join(dir, 'calibration.npy'), names);
  assert.deepEqual([...arrays.keys()].sort(), names.map((n) => `c:${n}`).sort());
  for (const name of names) {
    assert.equal(value.samples[name], 600 * 32, name);
    // The forwards batch differently (f32 activations differ in their last bits); a wrong or double-counted Gram is off by O(1).
    assertNear(arrays.get(`c:${name}`)!, want.get(name)!, 1e-6, name);
  }
});

/** Patches cut by hand in numpy: zero-pad, then per output position (every ty-th row, tx-th column) the (channel, kh, kw) window, channel-major. */
const ROWS = `def rows(a, k, s, p, d, steps=(1, 1)):
    a = np.pad(a, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    n, c, h, w = a.shape
    oh, ow = (h - d[0] * (k[0] - 1) - 1) // s[0] + 1, (w - d[1] * (k[1] - 1) - 1) // s[1] + 1
    out = [a[:, :, i * s[0]:i * s[0] + d[0] * (k[0] - 1) + 1:d[0], j * s[1]:j * s[1] + d[1] * (k[1] - 1) + 1:d[1]].reshape(n, -1)
           for i in range(0, oh, steps[0]) for j in range(0, ow, steps[1])]
    return np.concatenate(out)
`;

/** A convolutional module with strides, padding, dilation and a Conv1d, for the patch Grams. */
const CONV_NET = `import torch
from torch import nn
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 16, (3, 2), stride=2, padding=(1, 0), dilation=(1, 2))
        self.d = nn.Conv1d(16, 12, 3, padding=1, stride=2)
        self.fc = nn.Linear(12, 5)
    def forward(self, x):
        h = torch.relu(self.c2(torch.relu(self.c1(x)))).flatten(2)
        return self.fc(torch.relu(self.d(h)).mean(-1))
def make():
    torch.manual_seed(0)
    return Net()
`;

test('runner moments of nn.Conv1d/2d inputs equal numpy f64 Grams of their patches (in·k… rows, as the weight reshapes)', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'net.py'), CONV_NET);
  const made = spawnSync(PYTHON, ['-c', `import sys, numpy as np, torch
sys.path[:0] = [sys.argv[1]]
import net
m = net.make(); torch.save(m.state_dict(), sys.argv[1] + '/net.pt')
x = np.random.default_rng(1).standard_normal((40, 3, 9, 11)).astype(np.float32)
np.save(sys.argv[1] + '/x.npy', x)
acts = {}
for name in ('c1', 'c2', 'd', 'fc'):
    m.get_submodule(name).register_forward_pre_hook(lambda mod, args, name=name: acts.__setitem__(name, args[0].double().numpy()))
with torch.no_grad(): m(torch.from_numpy(x))
${ROWS}r = {'c1': rows(acts['c1'], (3, 3), (1, 1), (1, 1), (1, 1)), 'c2': rows(acts['c2'], (3, 2), (2, 2), (1, 0), (1, 2)),
     'd': rows(acts['d'][:, :, None, :], (1, 3), (1, 2), (0, 1), (1, 1)), 'fc': acts['fc']}
np.savez(sys.argv[1] + '/expected.npz', **{k: v.T @ v / len(v) for k, v in r.items()})
`, dir], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const want = readNpz(join(dir, 'expected.npz'));
  const { arrays } = await runnerMoments(`${join(dir, 'net.py')}:make`, join(dir, 'net.pt'), join(dir, 'x.npy'), ['c1', 'c2', 'd', 'fc']);
  assert.deepEqual([...arrays.keys()].sort(), ['c:c1', 'c:c2', 'c:d', 'c:fc']);
  for (const [name, ref] of want) assertNear(arrays.get(`c:${name}`)!, ref, 1e-6, name);
});

test('a convolution whose every position would pass 2^30 multiply-adds an input is summed on a sub-grid of positions, as patches.ts thins', async () => {
  const dir = tempDir();
  // 64 channels × 3×3 = 576 values a patch: at most 3 236 positions an input; 60×70 = 4 200 → every 2nd column.
  writeFileSync(join(dir, 'wide.py'), 'import torch\nfrom torch import nn\ndef make():\n    torch.manual_seed(0)\n    return nn.Sequential(nn.Conv2d(64, 4, 3, padding=1))\n');
  const made = spawnSync(PYTHON, ['-c', `import sys, numpy as np, torch
sys.path[:0] = [sys.argv[1]]
import wide
torch.save(wide.make().state_dict(), sys.argv[1] + '/wide.pt')
x = np.random.default_rng(3).standard_normal((3, 64, 60, 70)).astype(np.float32)
np.save(sys.argv[1] + '/x.npy', x)
${ROWS}
r = rows(x.astype(np.float64), (3, 3), (1, 1), (1, 1), (1, 1), (1, 2))
assert len(r) == 3 * 60 * 35
np.savez(sys.argv[1] + '/expected.npz', **{'0': r.T @ r / len(r)})
`, dir], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  const { value, arrays } = await runnerMoments(`${join(dir, 'wide.py')}:make`, join(dir, 'wide.pt'), join(dir, 'x.npy'), ['0']);
  assert.equal(value.samples['0'], 3 * 60 * 35);
  assertNear(arrays.get('c:0')!, readNpz(join(dir, 'expected.npz')).get('0')!, 1e-9, '0');
});

/** The runner's moments of `names`: the module built by `factory`, `checkpoint` loaded into it, run on the .npy `inputs`. */
async function runnerMoments(factory: string, checkpoint: string, inputs: string, names: string[]): Promise<Reply<'moments'>> {
  const x = loadNpyAsF32(inputs);
  const proc = new TorchRunnerProcess(PYTHON);
  try {
    await proc.call('open', { module: factory, checkpoint });
    return await proc.call('moments', { names, gramPerInput: GRAM_PER_INPUT }, [['x', x.data]], x.shape);
  } finally {
    proc.dispose();
  }
}

/** `got` within `tolerance` × the largest |value| of `want`, element by element. */
function assertNear(got: Float32Array | Float64Array, want: Float64Array, tolerance: number, name: string): void {
  assert.equal(got.length, want.length, name);
  let worst = 0, scale = 0;
  for (let i = 0; i < want.length; i++) { worst = Math.max(worst, Math.abs(got[i] - want[i])); scale = Math.max(scale, Math.abs(want[i])); }
  assert.ok(worst <= tolerance * scale, `${name}: max |Δ| ${worst} of max ${scale}`);
}

/** An .npy (int64 token ids, float inputs) as the f32 rows requests carry. */
function loadNpyAsF32(file: string): { data: Float32Array; shape: number[] } {
  const r = spawnSync(PYTHON, ['-c', 'import sys, numpy as np; a = np.load(sys.argv[1]); print(*a.shape); sys.stdout.flush(); sys.stdout.buffer.write(a.astype("<f4").tobytes())', file], { maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr?.toString());
  const nl = r.stdout.indexOf(10);
  const shape = r.stdout.subarray(0, nl).toString().trim().split(' ').map(Number);
  const bytes = r.stdout.subarray(nl + 1);
  return { data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)), shape };
}

/** The f64 arrays of an .npz, by name. */
function readNpz(file: string): Map<string, Float64Array> {
  const r = spawnSync(PYTHON, ['-c', 'import sys, json, numpy as np; z = np.load(sys.argv[1]); names = sorted(z.files); print(json.dumps([[n, z[n].size] for n in names])); sys.stdout.flush(); [sys.stdout.buffer.write(z[n].astype("<f8").tobytes()) for n in names]', file], { maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr?.toString());
  const nl = r.stdout.indexOf(10);
  const sizes = JSON.parse(r.stdout.subarray(0, nl).toString()) as [string, number][];
  const body = r.stdout.subarray(nl + 1);
  const all = new Float64Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  let at = 0;
  return new Map(sizes.map(([n, size]) => [n, all.subarray(at, at += size)]));
}
