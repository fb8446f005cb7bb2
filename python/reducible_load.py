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

Tied weights: a module whose weight is another's own Parameter (an LM head tied to the token
embedding, which transformers saves once) gets its factorised form from that module's factors:
the same Sequential where both are the same kind (the tie kept whole); for an embedding and a
Linear head, a Sequential whose large vocab×k factor is the embedding's own Parameter (kept tied)
and whose small k×dim factor is the transpose of the other's, copied — a Parameter cannot be a
transpose, and it is the cheap one. Keys a checkpoint leaves out because they name another key's
Parameter are filled from it (`with_tied`), as transformers' loading does.

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


def tied_to(model, module):
    """[(name, other)] of the other modules whose weight is `module`'s own Parameter (a head tied to the embedding)."""
    return [(n, m) for n, m in model.named_modules(remove_duplicate=False)
            if m is not module and getattr(m, "weight", None) is module.weight and module.weight is not None]


def tied_form(name, partner, old, new):
    """(the factorised form of `partner`, which shared `old`'s weight, built on `new` — old's factorised
    form; the index of its factor that is a transposed copy, or None when nothing is copied)."""
    if type(partner) is type(old) and partner.bias is old.bias:
        return new, None  # the same module twice: the whole Sequential stays shared
    pair = {type(partner), type(old)}
    if pair != {nn.Embedding, nn.Linear}:
        raise ValueError(f"{name} ({type(partner).__name__}) shares its weight with a {type(old).__name__}; they cannot be factorised together")
    # W [vocab, dim] = A·B: the embedding is Embedding(A) then Linear(Bᵀ), the head Linear(B) then Linear(A).
    # The vocab×k factor (an embedding's first, a head's second) is one Parameter for both.
    big = 0 if isinstance(old, nn.Embedding) else 1
    k, vocab, dim = new[big].weight.shape[1], *partner.weight.shape
    kw = {"device": old.weight.device, "dtype": old.weight.dtype}
    if isinstance(partner, nn.Linear):
        tied = nn.Sequential(nn.Linear(dim, k, bias=False, **kw), nn.Linear(k, vocab, bias=False, **kw))
        tied[1].bias = partner.bias  # the head's own bias, if any, untouched
    else:
        tied = nn.Sequential(nn.Embedding(vocab, k, padding_idx=partner.padding_idx, **kw), nn.Linear(k, dim, bias=False, **kw))
    tied[1 - big].weight = new[big].weight
    return tied, big


def swap(model, name, new):
    """Puts `new` in place of module `name`; returns the module it replaced."""
    parent, _, attr = name.rpartition(".")
    owner = model.get_submodule(parent) if parent else model
    old = getattr(owner, attr)
    setattr(owner, attr, new)
    return old


def with_tied(model, state):
    """`state` with the keys it leaves out because their Parameter is another key's (a checkpoint saved
    with its tied head dropped, as transformers saves it) taken from that key."""
    keys = {}
    for key, value in model.state_dict(keep_vars=True).items():
        keys.setdefault(id(value), []).append(key)
    for names in keys.values():
        present = next((n for n in names if n in state), None)
        for n in names if present else ():
            state.setdefault(n, state[present])
    return state


def load_reduced(model, path, strict=True):
    """Swaps every module the file (or the index's shards) lists for its factorised form, then loads the weights."""
    tensors, layers = read_reduced(path)
    for name, spec in layers.items():
        old = model.get_submodule(name)
        # Modules sharing its weight, not stored on their own: the file has their weights only as this module's.
        partners = [(n, m) for n, m in tied_to(model, old) if n not in layers and f"{n}.weight" not in tensors]
        new = factorised(old, spec)
        swap(model, name, new)
        if spec.get("scales"):  # int8 factors: one scale per rank component
            w0, w1 = f"{name}.0.weight", f"{name}.1.weight"
            s0, s1 = tensors.pop(w0 + "_scale"), tensors.pop(w1 + "_scale")
            tensors[w0] = tensors[w0].float() * (s0[None, :] if spec["kind"] == "embedding" else s0.reshape(-1, *[1] * (tensors[w0].dim() - 1)))
            tensors[w1] = tensors[w1].float() * s1.reshape(1, -1, *[1] * (tensors[w1].dim() - 2))
        for n, partner in partners:
            tied, big = tied_form(n, partner, old, new)
            swap(model, n, tied)
            if big is not None:
                tensors[f"{n}.{big}.weight"] = tensors[f"{name}.{1 - big}.weight"].T
                if partner.bias is not None:
                    tensors[f"{n}.1.bias"] = tensors.pop(f"{n}.bias")
    return model.load_state_dict(with_tied(model, tensors), strict=strict)
