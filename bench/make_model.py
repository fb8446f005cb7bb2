"""Writes a model of 2-D f32 weights with decaying spectra (σ_i = e^(−8i/min(m,n)), random
singular vectors) for bench/spectra and bench/compress, as safetensors (`layers.i.weight`,
shape as given) and, when each layer's first dimension is the previous one's second, as an
ONNX chain of MatMuls (initializer W_i of that shape).
usage: /usr/bin/python3 make_model.py OUTDIR SHAPES    e.g. 2048x2048,1024x4096"""
import json, struct, sys
import numpy as np

out, spec = sys.argv[1], sys.argv[2]
shapes = [tuple(int(d) for d in s.split("x")) for s in spec.split(",")]
rng = np.random.default_rng(0)
weights = []
for m, n in shapes:
    k = min(m, n)
    u, _ = np.linalg.qr(rng.standard_normal((m, k)).astype(np.float32))
    v, _ = np.linalg.qr(rng.standard_normal((n, k)).astype(np.float32))
    s = np.exp(-np.arange(k) / (k / 8)).astype(np.float32)
    weights.append(((u * s) @ v.T).astype(np.float32))

header, off = {}, 0
for i, w in enumerate(weights):
    header[f"layers.{i}.weight"] = {"dtype": "F32", "shape": list(w.shape), "data_offsets": [off, off + w.nbytes]}
    off += w.nbytes
h = json.dumps(header).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(f"{out}/model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h)
    for w in weights: f.write(w.tobytes())

if all(shapes[i][0] == shapes[i - 1][1] for i in range(1, len(shapes))):
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    nodes, inits = [], []
    prev = "x"
    for i, w in enumerate(weights):
        inits.append(numpy_helper.from_array(w, f"W{i}"))
        nodes.append(helper.make_node("MatMul", [prev, f"W{i}"], [f"h{i}"]))
        prev = f"h{i}"
    graph = helper.make_graph(nodes, "bench", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", shapes[0][0]])],
                              [helper.make_tensor_value_info(prev, TensorProto.FLOAT, ["N", shapes[-1][1]])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), f"{out}/model.onnx")
