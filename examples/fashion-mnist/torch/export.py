"""Writes model.pt: the weights of ../model.json + ../weights.bin (the TF.js MLP that
../train.ts trained) as the state dict of model.py's Mlp, with torch.save. The same trained
weights, so the PyTorch rows of bench/quality compare with the TF.js rows cell for cell.

usage: /usr/bin/python3 export.py [OUT]   (default: model.pt beside this script)
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def main(out):
    with open(os.path.join(HERE, "..", "model.json")) as f:
        manifest = json.load(f)["weightsManifest"]
    raw = np.fromfile(os.path.join(HERE, "..", "weights.bin"), dtype="<f4")
    state, offset = {}, 0
    for w in (w for group in manifest for w in group["weights"]):
        n = int(np.prod(w["shape"]))
        value = raw[offset:offset + n].reshape(w["shape"])
        offset += n
        layer, kind = w["name"].split("/")
        # Keras kernels are [in, out]; nn.Linear stores [out, in].
        state[f"{layer}.{'weight' if kind == 'kernel' else 'bias'}"] = torch.from_numpy(value.T.copy() if kind == "kernel" else value.copy())
    sys.path.insert(0, HERE)
    from model import make
    model = make()
    model.load_state_dict(state, strict=True)
    torch.save(model.state_dict(), out)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "model.pt"))
