"""A small decoder-only transformer over bytes (GPT-style blocks): the module Reducible runs.

    reducible compress model.safetensors --torch-model examples/tiny-lm/model.py:full ...

`full()` is the configuration the bench measures; `small()` the one the tests train in seconds.
Names follow GPT-2's where Reducible's reader looks (`wte`, `wpe`: embeddings), and the q/k/v/o
projections and the 4× MLP are separate nn.Linear layers, each one factorisable on its own.
"""
import math

import torch
from torch import nn
import torch.nn.functional as F

VOCAB = 256  # bytes


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.q, self.k, self.v, self.o = (nn.Linear(width, width) for _ in range(4))
        self.fc, self.proj = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def forward(self, x):
        b, t, c = x.shape
        h = self.ln1(x)
        q, k, v = (f(h).view(b, t, self.heads, c // self.heads).transpose(1, 2) for f in (self.q, self.k, self.v))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(c // self.heads)
        att = att.masked_fill(torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1), float("-inf"))
        x = x + self.o((att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, c))
        return x + self.proj(F.gelu(self.fc(self.ln2(x))))


class TinyLM(nn.Module):
    def __init__(self, width, layers, heads, context):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(VOCAB, width), nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(width)
        self.head = nn.Linear(width, VOCAB, bias=False)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1], device=ids.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


CONFIGS = {"full": dict(width=256, layers=4, heads=4, context=64), "small": dict(width=64, layers=2, heads=2, context=32)}


def full():
    return TinyLM(**CONFIGS["full"])


def small():
    return TinyLM(**CONFIGS["small"])
