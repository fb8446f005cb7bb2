"""numpy + LAPACK (OpenBLAS) doing what `reducible analyze` / `compress` do, as a whole process,
for bench/spectra and bench/compress. Two ways each, timed side by side:
  gram  the fast way: f64 Gram of the smaller side, then eigvalsh (analyze) or eigh (compress);
  svd   full SVD of the f64 matrix (gesdd), values only for analyze.
usage: /usr/bin/python3 numpy_reference.py analyze  MODEL.safetensors gram|svd [OUT.f64]
       /usr/bin/python3 numpy_reference.py compress MODEL.safetensors gram|svd REPORT.json OUT.safetensors
analyze writes every 2-D weight's singular values (descending, f64, layers in file order) to
OUT.f64 when given; compress keeps the ranks of Reducible's report and writes both factors of
each layer as safetensors (p.0.weight = √S·Vᵀ [k, in], p.1.weight = U·√S [out, k])."""
import json, struct, sys
import numpy as np


def read_safetensors(path):
    with open(path, "rb") as f:
        hlen = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(hlen))
        base = 8 + hlen
        for name, e in header.items():
            if name == "__metadata__":
                continue
            f.seek(base + e["data_offsets"][0])
            data = f.read(e["data_offsets"][1] - e["data_offsets"][0])
            yield name, np.frombuffer(data, dtype=np.float32).reshape(e["shape"])


def gram(w):
    """f64 Gram of the smaller side; numpy turns a.T @ a into one syrk."""
    w = w.astype(np.float64)
    return (w.T @ w) if w.shape[0] >= w.shape[1] else (w @ w.T), w


def singular_values(w, how):
    if how == "svd":
        return np.linalg.svd(w.astype(np.float64), compute_uv=False)
    g, _ = gram(w)
    return np.sqrt(np.maximum(np.linalg.eigvalsh(g), 0))[::-1]


def truncated(w, k, how):
    """U (out×k), s (k), Vt (k×in) of the best rank-k approximation."""
    if how == "svd":
        u, s, vt = np.linalg.svd(w.astype(np.float64), full_matrices=False)
        return u[:, :k], s[:k], vt[:k]
    g, w = gram(w)
    lam, vecs = np.linalg.eigh(g)
    # Contiguous: numpy multiplies a reversed (negative-stride) view without BLAS, 10× slower.
    top = np.ascontiguousarray(vecs[:, ::-1][:, :k])
    s = np.sqrt(np.maximum(lam[::-1][:k], 0))
    safe = np.where(s > 0, s, 1)
    if w.shape[0] >= w.shape[1]:
        return (w @ top) / safe, s, top.T
    return top, s, (top.T @ w) / safe[:, None]


def write_safetensors(path, tensors):
    hdr, off = {}, 0
    for name, t in tensors.items():
        hdr[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + t.nbytes]}
        off += t.nbytes
    h = json.dumps(hdr).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for t in tensors.values():
            f.write(t.tobytes())


def analyze(model, how, out=None):
    values = [singular_values(w, how) for _, w in read_safetensors(model) if w.ndim == 2]
    if out:
        np.concatenate(values).astype("<f8").tofile(out)


def compress(model, how, report, out):
    ranks = {l["name"]: l["rank"] for l in json.load(open(report))["layers"]}
    tensors = {}
    for name, w in read_safetensors(model):
        k = ranks.get(name[: -len(".weight")])
        if k is None:
            tensors[name] = w
            continue
        u, s, vt = truncated(w, k, how)
        r = np.sqrt(s)
        tensors[name[:-6] + "0.weight"] = np.ascontiguousarray((vt.T * r).T.astype(np.float32))
        tensors[name[:-6] + "1.weight"] = np.ascontiguousarray((u * r).astype(np.float32))
    write_safetensors(out, tensors)


if __name__ == "__main__":
    cmd, model, how = sys.argv[1:4]
    if cmd == "analyze":
        analyze(model, how, *sys.argv[4:5])
    else:
        compress(model, how, *sys.argv[4:6])
