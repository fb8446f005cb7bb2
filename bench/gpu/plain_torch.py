"""The job `reducible compress --engine torch` does, as an ML engineer would write it in plain
PyTorch: the baseline of bench/gpu/run.py. Sequential, no overlap: for each 2-D weight, read
it, move it to the GPU, torch.svd_lowrank at the rank Reducible chose, write the two factors.

usage: plain_torch.py MODEL.safetensors REPORT.json OUT.safetensors

REPORT.json is the compress run's report (`--json`): layers[].name / rank; layer `p` is tensor
`p.weight`, written as `p.0.weight` (√Σ·Vᵀ, rank×in) and `p.1.weight` (U·√Σ, out×rank), f32,
as Reducible writes a factorised Linear. Other tensors are copied. Runs on the CPU when there
is no GPU. Prints one JSON line: seconds spent reading, computing and writing, and the
relative errors ‖W − AB‖/‖W‖ (from the singular values: svd_lowrank's U·Σ·Vᵀ is a projection).
"""
import json
import os
import struct
import sys
import time

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "BF16": np.uint16}
OVERSAMPLING = 10


def main():
    model, report, out = sys.argv[1:4]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.set_num_threads(os.cpu_count() or 1)  # some CPU builds default to one thread
    ranks = {l["name"] + ".weight": l["rank"] for l in json.load(open(report))["layers"]}
    with open(model, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
    data_start = 8 + size
    header.pop("__metadata__", None)
    names = sorted(header, key=lambda k: header[k]["data_offsets"][0])

    # The output's header first: every size is known from the shapes and ranks.
    entries, offset = [], 0
    for name in names:
        t = header[name]
        if name in ranks and len(t["shape"]) == 2:
            (m, n), k, p = t["shape"], ranks[name], name[:-len(".weight")]
            entries += [(p + ".0.weight", "F32", [k, n]), (p + ".1.weight", "F32", [m, k])]
        else:
            entries.append((name, t["dtype"], t["shape"]))
    out_header = {}
    for name, dtype, shape in entries:
        nbytes = int(np.prod(shape)) * (2 if dtype in ("F16", "BF16") else 8 if dtype == "F64" else 4)
        out_header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    blob = json.dumps(out_header).encode()
    blob += b" " * (-len(blob) % 8)

    seconds = {"read": 0.0, "compute": 0.0, "write": 0.0}
    errors = []
    with open(out, "wb") as dst:
        dst.write(struct.pack("<Q", len(blob)) + blob)
        for name in names:
            t = header[name]
            t0 = time.perf_counter()
            count = int(np.prod(t["shape"]))
            w = np.fromfile(model, dtype=DTYPES[t["dtype"]], count=count, offset=data_start + t["data_offsets"][0])
            t1 = time.perf_counter()
            if name in ranks and len(t["shape"]) == 2:
                W = torch.from_numpy(w.reshape(t["shape"])).to(device)
                if t["dtype"] == "BF16":
                    W = W.view(torch.int16).view(torch.bfloat16)
                W = W.float()
                k = ranks[name]
                U, S, V = torch.svd_lowrank(W, q=min(k + OVERSAMPLING, *W.shape), niter=2)
                U, S, V = U[:, :k], S[:k], V[:, :k]
                r = S.sqrt()
                parts = [(V * r).T.contiguous().cpu().numpy(), (U * r).cpu().numpy()]
                total = (W.double() ** 2).sum().item()
                errors.append(max(total - (S.double() ** 2).sum().item(), 0.0) ** 0.5 / total ** 0.5)
            else:
                parts = [w]
            t2 = time.perf_counter()
            for p in parts:
                dst.write(p.tobytes())
            seconds["read"] += t1 - t0
            seconds["compute"] += t2 - t1
            seconds["write"] += time.perf_counter() - t2
    print(json.dumps({"device": device if device == "cpu" else "cuda · " + torch.cuda.get_device_name(0),
                      "layers": len(errors), "bytes": os.path.getsize(out), **seconds,
                      "meanRelativeError": sum(errors) / max(len(errors), 1), "maxRelativeError": max(errors, default=0.0)}))


if __name__ == "__main__":
    main()
