"""Writes the benchmark's inputs: a safetensors model of Linear layers with decaying spectra
and one raw float32 matrix per benchmarked shape.

usage: make_model.py OUT_DIR [--small]

Full size: 24 layers (18 of 4096x4096, 4 of 11008x4096, 2 of 8192x8192), about 2.5 GB.
--small divides every dimension by 16 so the whole benchmark runs on a CPU in seconds.
Uses torch (on the GPU when there is one) for the matrix products.
"""
import json
import os
import struct
import sys

import torch

SHAPES = {"square": (4096, 4096), "mlp": (11008, 4096), "wide": (8192, 8192)}
LAYOUT = ["square"] * 18 + ["mlp"] * 4 + ["wide"] * 2


def decaying(m, n, seed, device):
    """W = U·diag(s)·V with Gaussian U, V and s_i = exp(-6·i/p) + 1e-3: a smooth decay to a
    noise floor, the shape trained layers usually have."""
    gen = torch.Generator(device=device).manual_seed(seed)
    p = min(m, n)
    s = torch.exp(-6.0 * torch.arange(p, device=device, dtype=torch.float32) / p) + 1e-3
    u = torch.randn(m, p, generator=gen, device=device) / m ** 0.5
    v = torch.randn(p, n, generator=gen, device=device) / n ** 0.5
    return ((u * s) @ v).contiguous()


def main():
    out = sys.argv[1]
    scale = 16 if "--small" in sys.argv[2:] else 1
    device = "cuda" if torch.cuda.is_available() else "cpu"
    os.makedirs(os.path.join(out, "spectra"), exist_ok=True)
    shapes = {k: (m // scale, n // scale) for k, (m, n) in SHAPES.items()}

    for key, (m, n) in shapes.items():
        with open(os.path.join(out, "spectra", "{}x{}.f32".format(m, n)), "wb") as f:
            f.write(decaying(m, n, 1000 + m + n, device).cpu().numpy().astype("<f4").tobytes())

    names = ["layers.{}.{}.weight".format(i, key) for i, key in enumerate(LAYOUT)]
    header, offset = {}, 0
    for name, key in zip(names, LAYOUT):
        m, n = shapes[key]
        header[name] = {"dtype": "F32", "shape": [m, n], "data_offsets": [offset, offset + 4 * m * n]}
        offset += 4 * m * n
    header["__metadata__"] = {"format": "pt", "generator": "bench/gpu/make_model.py"}
    blob = json.dumps(header).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    path = os.path.join(out, "model.safetensors")
    # Written under another name, then renamed: a run cut short leaves no model that looks whole.
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for i, key in enumerate(LAYOUT):
            m, n = shapes[key]
            f.write(decaying(m, n, i, device).cpu().numpy().astype("<f4").tobytes())
    os.replace(path + ".tmp", path)
    print(json.dumps({"model": path, "bytes": os.path.getsize(path), "layers": len(LAYOUT),
                      "shapes": sorted(set(shapes.values()))}))


if __name__ == "__main__":
    main()
