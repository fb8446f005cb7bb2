# Trains the second quality-bench model: a small convolutional network on Fashion-MNIST
# (Debian package dataset-fashion-mnist) with PyTorch on the CPU, seeded. The TF.js wasm
# backend has no Conv2D filter-gradient kernel and the cpu backend is far too slow for
# convolution training, so training happens here and export.ts writes the TF.js model.
# Layout is chosen so the export is a pure transpose: activations are flattened in NHWC
# order, exactly as a TF.js Flatten layer does.
# Writes trained.npz (float32 weights in TF.js layouts), which export.ts turns into
# model.json + weights.bin.  Run: /usr/bin/python3 examples/fashion-cnn/train.py  (a few minutes)
import gzip, os, time
import numpy as np
import torch
from torch import nn

DATA = '/usr/share/datasets/fashion-mnist'
HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 7
EPOCHS = int(os.environ.get('EPOCHS', 4))


def idx(name, header):
    with gzip.open(f'{DATA}/{name}') as f:
        return np.frombuffer(f.read(), np.uint8)[header:]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_1 = nn.Conv2d(1, 16, 3)
        self.conv_2 = nn.Conv2d(16, 32, 3)
        self.dense_1 = nn.Linear(5 * 5 * 32, 64)
        self.logits = nn.Linear(64, 10)

    def forward(self, x):  # x: [N, 784] raw pixels
        x = (x / 255.0).view(-1, 1, 28, 28)
        x = torch.max_pool2d(torch.relu(self.conv_1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv_2(x)), 2)
        x = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)  # NHWC flatten, as TF.js does
        return self.logits(torch.relu(self.dense_1(x)))


def main():
    torch.manual_seed(SEED)
    xtr = torch.tensor(idx('train-images-idx3-ubyte.gz', 16).reshape(-1, 784).astype(np.float32))
    ytr = torch.tensor(idx('train-labels-idx1-ubyte.gz', 8).astype(np.int64))
    xte = torch.tensor(idx('t10k-images-idx3-ubyte.gz', 16).reshape(-1, 784).astype(np.float32))
    yte = torch.tensor(idx('t10k-labels-idx1-ubyte.gz', 8).astype(np.int64))
    net = Net()
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        t0 = time.time()
        perm = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for i in range(0, len(xtr), 128):
            b = perm[i:i + 128]
            loss = nn.functional.cross_entropy(net(xtr[b]), ytr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        print(f'epoch {epoch + 1}/{EPOCHS}: loss {total / len(xtr):.4f} ({time.time() - t0:.0f} s)', flush=True)
    with torch.no_grad():
        acc = (net(xte).argmax(1) == yte).float().mean().item()
    print(f'test accuracy (torch) {acc * 100:.2f} %')
    t = lambda p: p.detach().numpy().astype(np.float32)
    np.savez(f'{HERE}/trained.npz',
             conv_1_kernel=t(net.conv_1.weight).transpose(2, 3, 1, 0).copy(), conv_1_bias=t(net.conv_1.bias),
             conv_2_kernel=t(net.conv_2.weight).transpose(2, 3, 1, 0).copy(), conv_2_bias=t(net.conv_2.bias),
             dense_1_kernel=t(net.dense_1.weight).T.copy(), dense_1_bias=t(net.dense_1.bias),
             logits_kernel=t(net.logits.weight).T.copy(), logits_bias=t(net.logits.bias))


if __name__ == '__main__':
    main()
