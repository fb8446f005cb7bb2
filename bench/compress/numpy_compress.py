"""The reference: the same job in numpy+LAPACK — read every weight, truncated SVD at the
ranks Reducible chose (from its report), write both factors as a safetensors file.
usage: /usr/bin/python3 numpy_compress.py MODEL.safetensors REPORT.json OUT"""
import json, struct, sys
import numpy as np

src, report, out = sys.argv[1:4]
ranks = {l["name"]: l["rank"] for l in json.load(open(report))["layers"]}
with open(src, "rb") as f:
    hlen = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(hlen))
    base = 8 + hlen
    tensors = {}
    for name, e in header.items():
        if name == "__metadata__": continue
        f.seek(base + e["data_offsets"][0])
        w = np.frombuffer(f.read(e["data_offsets"][1] - e["data_offsets"][0]), dtype=np.float32).reshape(e["shape"])
        k = ranks.get(name[: -len(".weight")])
        if k is None:
            tensors[name] = w; continue
        u, s, vt = np.linalg.svd(w.astype(np.float64), full_matrices=False)
        r = np.sqrt(s[:k])
        tensors[name[:-6] + "0.weight"] = np.ascontiguousarray((vt[:k].T * r).T.astype(np.float32))
        tensors[name[:-6] + "1.weight"] = np.ascontiguousarray((u[:, :k] * r).astype(np.float32))
hdr, off = {}, 0
for name, t in tensors.items():
    hdr[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + t.nbytes]}; off += t.nbytes
h = json.dumps(hdr).encode(); h += b" " * ((8 - len(h) % 8) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(h))); f.write(h)
    for t in tensors.values(): f.write(t.tobytes())
