# Writes model.onnx: the same Fashion-MNIST CNN as model.json, for ONNX users (the quality
# bench measures whitening of ONNX convolutions and the written DeepThin re-layout on it).
# train.py's network is rebuilt in PyTorch, the TF.js weights are loaded back into it
# (transposed to PyTorch layouts), a softmax is added as the TF.js model ends with one, and
# torch.onnx exports it with a dynamic batch. The input is the raw 784-pixel row, as for
# model.json. Prints the test accuracy on examples/fashion-mnist/test.npz.
# Run: /usr/bin/python3 examples/fashion-cnn/export_onnx.py   (python3-torch, python3-onnx)
import json, os
import numpy as np
import onnx
import torch
from train import Net

HERE = os.path.dirname(os.path.abspath(__file__))


def tfjs_weights():
    spec = json.load(open(f'{HERE}/model.json'))['weightsManifest'][0]['weights']
    data = np.fromfile(f'{HERE}/weights.bin', dtype=np.float32)
    out, off = {}, 0
    for w in spec:
        n = int(np.prod(w['shape']))
        out[w['name']] = data[off:off + n].reshape(w['shape'])
        off += n
    return out


class WithSoftmax(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.softmax(self.net(x), dim=1)


def main():
    w = tfjs_weights()
    net = Net().eval()
    with torch.no_grad():
        for name in ['conv_1', 'conv_2']:  # HWIO → OIHW
            getattr(net, name).weight.copy_(torch.from_numpy(w[f'{name}/kernel'].transpose(3, 2, 0, 1).copy()))
            getattr(net, name).bias.copy_(torch.from_numpy(w[f'{name}/bias']))
        for name in ['dense_1', 'logits']:  # in×out → out×in
            getattr(net, name).weight.copy_(torch.from_numpy(w[f'{name}/kernel'].T.copy()))
            getattr(net, name).bias.copy_(torch.from_numpy(w[f'{name}/bias']))
    model = WithSoftmax(net).eval()
    test = np.load(f'{HERE}/../fashion-mnist/test.npz')
    with torch.no_grad():
        acc = (model(torch.from_numpy(test['x'].astype(np.float32))).argmax(1).numpy() == test['y']).mean()
    print(f'test accuracy (torch, TF.js weights) {acc * 100:.2f} %')
    path = f'{HERE}/model.onnx'
    torch.onnx.export(model, torch.zeros(1, 784), path, input_names=['x'], output_names=['probabilities'],
                      dynamic_axes={'x': {0: 'batch'}, 'probabilities': {0: 'batch'}}, opset_version=13)
    onnx.checker.check_model(onnx.load(path))
    print(f'wrote {path}')


if __name__ == '__main__':
    main()
