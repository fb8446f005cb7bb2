"""The bundled Fashion-MNIST MLP (../model.json) as a PyTorch module, for --torch-model:

    reducible compress model.pt --torch-model examples/fashion-mnist/torch/model.py:make ...

Rescaling 1/255 → Linear 784·512 ReLU → Linear 512·256 ReLU → Linear 256·10. It returns the
logits (the TF.js model's softmax is left out: the same arg-max, and distillation matches logits).
"""
import torch
from torch import nn


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.dense_1, self.dense_2, self.logits = nn.Linear(784, 512), nn.Linear(512, 256), nn.Linear(256, 10)

    def forward(self, x):
        x = x.float() / 255
        return self.logits(torch.relu(self.dense_2(torch.relu(self.dense_1(x)))))


def make():
    return Mlp()
