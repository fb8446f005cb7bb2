"""Load a `*.reduced.safetensors` written by Reducible into the model it came from.

Reducible replaces each factorised module `p` by the state dict of a two-module
nn.Sequential (Linear→Linear, Conv→Conv 1×1, Embedding→Linear) and lists those modules in
the file's `__metadata__["reducible"]`. `load_reduced` swaps the modules accordingly and
then calls the stock `load_state_dict`:

    model = MyNet()
    load_reduced(model, "model.reduced.safetensors")
    load_reduced(model, "model.reduced.safetensors.index.json")  # sharded: every shard the index names

A reduced Hugging Face model folder (`reducible compress <folder>` writes `<folder>.reduced`, with
this file in it) is loaded the same way, its module built from its config.json by transformers:

    model = folder_module("my-model.reduced")
    load_reduced(model, "my-model.reduced")

int8 files (`--dtype int8`) store the factors as I8 with one F32 scale per rank
component (`p.0.weight_scale`, `p.1.weight_scale`); they are dequantised here before loading.
Needs only torch (transformers only for folder_module; the safetensors header is 8 bytes of length + JSON, parsed here).
Grouped convolutions cannot be factorised this way and are refused.
"""
import json
import os
import struct

import torch
from torch import nn

DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool}


def read_safetensors(path):
    """Returns ({name: tensor}, metadata dict) from a safetensors file."""
    tensors = {}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        meta = header.pop("__metadata__", {})
        for name, e in header.items():  # one tensor at a time: never the whole file in memory twice
            begin, end = e["data_offsets"]
            f.seek(8 + n + begin)
            buf = bytearray(f.read(end - begin))
            flat = torch.frombuffer(buf, dtype=DTYPES[e["dtype"]]) if buf else torch.empty(0, dtype=DTYPES[e["dtype"]])
            tensors[name] = flat.reshape(e["shape"])
    return tensors, meta


def factorised(old, spec):
    """The nn.Sequential that replaces `old` (same input and output, rank `spec['rank']`)."""
    kinds = {"linear": nn.Linear, "embedding": nn.Embedding, "conv": (nn.Conv1d, nn.Conv2d, nn.Conv3d)}
    if not isinstance(old, kinds[spec["kind"]]):
        raise TypeError(f"the file factorises a {spec['kind']} here, but the model has {type(old).__name__}")
    k, kw = spec["rank"], {"device": old.weight.device, "dtype": old.weight.dtype}
    if spec["kind"] == "linear":
        return nn.Sequential(nn.Linear(spec["in"], k, bias=False, **kw), nn.Linear(k, spec["out"], bias=old.bias is not None, **kw))
    if spec["kind"] == "embedding":
        return nn.Sequential(nn.Embedding(spec["in"], k, padding_idx=old.padding_idx, **kw), nn.Linear(k, spec["out"], bias=False, **kw))
    if old.groups != 1:
        raise ValueError("grouped convolutions cannot be loaded as factorised")
    conv = type(old)  # same dimensionality; the second has a 1×…×1 kernel
    return nn.Sequential(
        conv(spec["in"], k, old.kernel_size, old.stride, old.padding, old.dilation, bias=False, padding_mode=old.padding_mode, **kw),
        conv(k, spec["out"], 1, bias=old.bias is not None, **kw))


# The weights of a Hugging Face folder, in the order looked for (as Reducible's reader,
# core/formats/huggingface/folder.ts, looks): sharded, else one file.
FOLDER_WEIGHTS = ("model.safetensors.index.json", "model.safetensors")


def weights_in(path):
    """`path` itself, or for a Hugging Face folder the weights file in it."""
    if not os.path.isdir(path):
        return path
    for name in FOLDER_WEIGHTS:
        if os.path.isfile(os.path.join(path, name)):
            return os.path.join(path, name)
    raise FileNotFoundError(f"{path} holds neither {' nor '.join(FOLDER_WEIGHTS)}")


def folder_module(folder):
    """The module of a Hugging Face folder: its config's first architecture, built by transformers (weights not loaded)."""
    import transformers
    config = transformers.AutoConfig.from_pretrained(folder)
    names = getattr(config, "architectures", None) or []
    if not names:
        raise ValueError("config.json names no architectures")
    return getattr(transformers, names[0])(config)


def read_reduced(path):
    """({name: tensor}, {module: spec}) of a reduced .safetensors, of all shards of a .safetensors.index.json, or of a reduced folder's weights."""
    path = weights_in(path)
    if path.endswith(".index.json"):
        with open(path) as f:
            shards = dict.fromkeys(json.load(f)["weight_map"].values())  # each once, in order
        paths = [os.path.join(os.path.dirname(path), s) for s in shards]
    else:
        paths = [path]
    tensors, layers = {}, {}
    for p in paths:
        t, meta = read_safetensors(p)
        tensors.update(t)
        layers.update(json.loads(meta.get("reducible", '{"layers": {}}'))["layers"])
    return tensors, layers


def load_reduced(model, path, strict=True):
    """Swaps every module the file (or the index's shards) lists for its factorised form, then loads the weights."""
    tensors, layers = read_reduced(path)
    for name, spec in layers.items():
        parent, _, attr = name.rpartition(".")
        owner = model.get_submodule(parent) if parent else model
        setattr(owner, attr, factorised(getattr(owner, attr), spec))
        if spec.get("scales"):  # int8 factors: one scale per rank component
            w0, w1 = f"{name}.0.weight", f"{name}.1.weight"
            s0, s1 = tensors.pop(w0 + "_scale"), tensors.pop(w1 + "_scale")
            tensors[w0] = tensors[w0].float() * (s0[None, :] if spec["kind"] == "embedding" else s0.reshape(-1, *[1] * (tensors[w0].dim() - 1)))
            tensors[w1] = tensors[w1].float() * s1.reshape(1, -1, *[1] * (tensors[w1].dim() - 2))
    return model.load_state_dict(tensors, strict=strict)
