"""Writes a safetensors and an ONNX model of N Linear/MatMul layers (n×n f32, decaying
spectra) for bench/compress. usage: /usr/bin/python3 make_model.py OUTDIR N SIZE"""
import json, struct, sys
import numpy as np

out, layers, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(0)
weights = []
for i in range(layers):
    u, _ = np.linalg.qr(rng.standard_normal((n, n)).astype(np.float32))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)).astype(np.float32))
    s = np.exp(-np.arange(n) / (n / 8)).astype(np.float32)
    weights.append(((u * s) @ v.T).astype(np.float32))

header, off = {}, 0
for i, w in enumerate(weights):
    header[f"layers.{i}.weight"] = {"dtype": "F32", "shape": [n, n], "data_offsets": [off, off + w.nbytes]}
    off += w.nbytes
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(f"{out}/model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h)
    for w in weights: f.write(w.tobytes())

import onnx
from onnx import helper, numpy_helper, TensorProto
nodes, inits = [], []
prev = "x"
for i, w in enumerate(weights):
    inits.append(numpy_helper.from_array(w, f"W{i}"))
    nodes.append(helper.make_node("MatMul", [prev, f"W{i}"], [f"h{i}"]))
    prev = f"h{i}"
graph = helper.make_graph(nodes, "bench", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", n])],
                          [helper.make_tensor_value_info(prev, TensorProto.FLOAT, ["N", n])], inits)
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), f"{out}/model.onnx")
