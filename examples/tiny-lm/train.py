"""Trains examples/tiny-lm/model.py on the Vim user manual (Debian's vim-runtime package ships
it as plain English text, /usr/share/vim/vim*/doc/usr_*.txt, about 640 KB) with Debian's PyTorch.

usage: /usr/bin/python3 train.py [--config full|small] [--steps N] [--calibration N] [--corpus FILE...] [--out DIR]

Writes to --out (default: this folder): model.safetensors, calibration.npy and heldout.npy
(int64 byte ids [N, context]). The text is split once: the first 90 % trains (calibration
windows are drawn from it), the last 10 % is held out (later chapters), so held-out windows
never overlap calibration or training text.
"""
import argparse
import glob
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import CONFIGS, TinyLM  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def windows(data, context, n, rng):
    starts = rng.integers(0, len(data) - context, n)
    return np.stack([data[s:s + context] for s in starts]).astype(np.int64)


def save_safetensors(state, path):
    header, blobs, offset = {}, [], 0
    for k, v in state.items():
        b = v.detach().contiguous().numpy().astype("<f4").tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config", default="full", choices=sorted(CONFIGS))
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--calibration", type=int, default=512, help="calibration windows written")
    p.add_argument("--corpus", nargs="*", default=sorted(glob.glob("/usr/share/vim/vim*/doc/usr_*.txt")))
    p.add_argument("--out", default=HERE)
    a = p.parse_args()
    if not a.corpus:
        sys.exit("train.py: no corpus: install Debian's vim-runtime, or pass --corpus FILE...")
    data = np.frombuffer(b"".join(open(f, "rb").read() for f in a.corpus), dtype=np.uint8)
    cut = int(len(data) * 0.9)
    train, held = data[:cut], data[cut:]
    cfg = CONFIGS[a.config]
    context = cfg["context"]
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = TinyLM(**cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    started = time.time()
    for step in range(a.steps):
        lr = 3e-3 * min(1, (step + 1) / 50) * 0.5 * (1 + np.cos(np.pi * step / a.steps))
        for g in opt.param_groups:
            g["lr"] = lr
        x = torch.from_numpy(windows(train, context + 1, a.batch, rng))
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 50 == 0 or step == a.steps - 1:
            print(f"step {step} loss {loss.item():.3f} ({time.time() - started:.0f} s)", flush=True)
    os.makedirs(a.out, exist_ok=True)
    save_safetensors(model.state_dict(), os.path.join(a.out, "model.safetensors"))
    calib = windows(train, context, a.calibration, np.random.default_rng(1))
    # Held-out: consecutive, non-overlapping windows of the last 10 %.
    n = min(256, len(held) // context)
    heldout = held[: n * context].reshape(n, context).astype(np.int64)
    np.save(os.path.join(a.out, "calibration.npy"), calib)
    np.save(os.path.join(a.out, "heldout.npy"), heldout)
    with torch.no_grad():
        ids = torch.from_numpy(heldout)
        out = model(ids)
        ppl = torch.exp(F.cross_entropy(out[:, :-1].reshape(-1, 256), ids[:, 1:].reshape(-1))).item()
    print(f"trained {a.config} ({sum(p.numel() for p in model.parameters())} params) in {time.time() - started:.0f} s; held-out perplexity {ppl:.3f}")


if __name__ == "__main__":
    main()
