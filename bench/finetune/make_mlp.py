# The fine-tuning bench's subject: a Fashion-MNIST MLP of 1.3 M parameters (784 → 1024 → 512 → 10,
# softmax output) trained for one epoch with PyTorch on the CPU, exported to ONNX with a dynamic
# batch, plus 2 000 unlabeled training images as calibration inputs (raw pixels, as the model reads
# them). Also times the reference a user would write: the same distillation step (batch 256,
# Adam, KL at temperature 1 between the teacher's and a factorised student's softmax) in PyTorch,
# and prints its median step time and its CPU time per step in milliseconds as JSON on the last line.
# Run: /usr/bin/python3 bench/finetune/make_mlp.py OUT_DIR   (python3-torch, python3-onnx)
import gzip, json, os, sys, time
import numpy as np
import torch
from torch import nn

DATA = '/usr/share/datasets/fashion-mnist'
SEED = 3
RANK_SHARE = 0.1  # the student's factors keep about 10 % of the parameters, as `--ratio 0.1`


def idx(name, header):
    with gzip.open(f'{DATA}/{name}') as f:
        return np.frombuffer(f.read(), np.uint8)[header:]


def mlp():
    return nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, 10))


def train(net, x, y):
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    gen = torch.Generator().manual_seed(SEED)
    perm = torch.randperm(len(x), generator=gen)
    for i in range(0, len(x), 128):
        b = perm[i:i + 128]
        loss = nn.functional.cross_entropy(net(x[b] / 255.0), y[b])
        opt.zero_grad()
        loss.backward()
        opt.step()


class Model(nn.Module):
    """Raw pixels in, probabilities out: the layout the product's ONNX users ship."""
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.softmax(self.net(x / 255.0), dim=1)


def factorised(layer, share):
    w = layer.weight.detach()
    k = max(1, int(share * w.numel() / sum(w.shape)))
    u, s, v = torch.linalg.svd(w, full_matrices=False)
    a = nn.Linear(w.shape[1], k, bias=False)
    b = nn.Linear(k, w.shape[0])
    with torch.no_grad():
        a.weight.copy_(s[:k, None] * v[:k])
        b.weight.copy_(u[:, :k])
        b.bias.copy_(layer.bias)
    return nn.Sequential(a, b)


def reference_step_ms(teacher, x):
    """Median time of one distillation step of a factorised student, after warm-up."""
    student = nn.Sequential(*[factorised(m, RANK_SHARE) if isinstance(m, nn.Linear) else m for m in teacher])
    opt = torch.optim.Adam(student.parameters(), 2e-3)
    with torch.no_grad():
        target = torch.softmax(teacher(x / 255.0), dim=1)
    gen = torch.Generator().manual_seed(SEED)
    times = []
    for step in range(220):
        if step == 20:
            cpu0 = time.process_time()
        t0 = time.perf_counter()
        b = torch.randint(0, len(x), (256,), generator=gen)
        loss = -(target[b] * torch.log_softmax(student(x[b] / 255.0), dim=1)).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step >= 20:
            times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times)), 1000 * (time.process_time() - cpu0) / 200


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(SEED)
    xtr = torch.tensor(idx('train-images-idx3-ubyte.gz', 16).reshape(-1, 784).astype(np.float32))
    ytr = torch.tensor(idx('train-labels-idx1-ubyte.gz', 8).astype(np.int64))
    net = mlp()
    train(net, xtr, ytr)
    model = Model(net).eval()
    torch.onnx.export(model, xtr[:1], f'{out}/mlp.onnx', input_names=['x'], output_names=['probs'],
                      dynamic_axes={'x': {0: 'n'}, 'probs': {0: 'n'}}, opset_version=13)
    calib = xtr[-2000:].numpy()
    np.save(f'{out}/calib.npy', calib)
    wall, cpu = reference_step_ms(net.eval(), torch.tensor(calib))
    print(json.dumps({'params': sum(p.numel() for p in net.parameters()), 'torchThreads': torch.get_num_threads(),
                      'referenceStepMs': wall, 'referenceStepCpuMs': cpu}))


if __name__ == '__main__':
    main()
