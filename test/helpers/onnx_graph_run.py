"""Test helper: runs an ONNX graph as python/onnx_graph.py builds it (from the message Node sends
the PyTorch runner) on one input, and writes the output's values as little-endian f32.
Usage: /usr/bin/python3 onnx_graph_run.py GRAPH.json ARRAYS.bin X.bin OUT.bin
GRAPH.json: {"graph": OnnxGraphMessage, "arrays": [[name, count], …] in ARRAYS.bin's order, "shape": x's shape}."""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from onnx_graph import OnnxModule  # noqa: E402


def main(graph_path, arrays_path, x_path, out_path):
    with open(graph_path) as f:
        msg = json.load(f)
    raw = np.fromfile(arrays_path, dtype="<f4")
    arrays, at = {}, 0
    for name, count in msg["arrays"]:
        arrays[name] = torch.from_numpy(raw[at:at + count].copy())
        at += count
    graph = msg["graph"]
    floats = {name: arrays["t:" + name].reshape(shape) for name, shape in graph["floats"].items()}
    x = torch.from_numpy(np.fromfile(x_path, dtype="<f4").reshape(msg["shape"]))
    with torch.no_grad():
        y = OnnxModule(graph, floats)(x)
    y.float().numpy().astype("<f4").tofile(out_path)


if __name__ == "__main__":
    main(*sys.argv[1:])
