"""Reducible's PyTorch runner: runs the user's own nn.Module for a job's data-aware steps.

Started only when the user names the module (`--torch-model file.py:factory`, or in VS Code a
module chosen in a trusted workspace) or passes a Hugging Face model folder for a data-aware
step: importing that file and calling the factory, or transformers building the folder's
config.json architecture (never with trust_remote_code: no code from the folder), is the one
place Reducible runs code beside a model — never anything from the checkpoint (.pt files are
read with torch.load(weights_only=True)).

Frames as python/torch_worker.py's: a JSON header line, then exactly header["bytes"] raw
little-endian bytes, the arrays header["parts"] lists as [name, dtype, bytes] in order. The
message types are core/runners/torchRunnerProtocol.ts (one place); replies:
  {"type": "hello", "device": "...", "gpu": bool, "torch": "..."}    once, at start
  {"type": "fatal", "error": "..."}                                  start-up failure
  {"id": n, "type": "result", "value": {...}, "parts": [...], "bytes": b}
  {"id": n, "type": "error", "error": "...", "file": "..."}          file: the input at fault
Tensors are f32 (f64 for moments); factors are the job's A (rows×k) and B (k×cols) of the
layer's matrix view (rows = inputs), the layout core/compress/types.ts describes.
"""
import copy
import importlib.util
import json
import math
import os
import sys

out = sys.stdout.buffer
# Whatever the user's module prints must not corrupt the protocol stream.
sys.stdout = sys.stderr


def send(header, payload=b""):
    out.write((json.dumps(header) + "\n").encode("utf-8"))
    out.write(payload)
    out.flush()


try:
    import numpy as np
    import torch
    from torch import nn
    import torch.nn.functional as F
except ImportError as e:
    send({"type": "fatal", "error": "cannot import {} ({})".format(getattr(e, "name", None) or "torch", e)})
    sys.exit(3)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reducible_load import factorised, folder_module, load_reduced, read_safetensors, swap, tied_form, tied_to, weights_in, with_tied  # noqa: E402

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
# Rows of a batch: enough elements per batch to keep the device busy, few enough to fit. A token
# becomes a vector of the model's width in every layer, so token ids count for more.
BATCH_ELEMENTS = 1 << 16
BATCH_TOKENS = 1 << 13
# Rows of a layer input converted to f64 at a time for its Gram.
GRAM_ROWS = 4096


class BadInput(Exception):
    """An error in what the user gave (their module, its checkpoint): reported naming `file`."""

    def __init__(self, file, message):
        super().__init__(message)
        self.file = file


def open_graph(graph, arrays):
    """An ONNX graph Node read (torch_runner's `open` with `graph`), as onnx_graph.OnnxModule; every stored name is its own."""
    from onnx_graph import OnnxModule
    floats = {name: arrays["t:" + name].reshape(shape) for name, shape in graph["floats"].items()}
    return OnnxModule(graph, floats).to(DEVICE).eval(), set(floats)


def open_module(spec, checkpoint):
    """(The module that runs `checkpoint`, its state dict loaded (strict): the user's
    (`--torch-model file.py:factory`), else a Hugging Face folder's own, built by transformers;
    the names the checkpoint stores). A key left out because its Parameter is another's (a tied
    head) is that key's, as transformers loads it."""
    if spec:
        model, file = user_module(spec)
        what = "{}()".format(spec.rpartition(":")[2])
    elif os.path.isdir(checkpoint):
        model, file = hugging_face_module(checkpoint), checkpoint
        what = type(model).__name__
    else:
        raise BadInput(checkpoint, "running this model needs its module: --torch-model file.py:factory")
    state = state_dict_of(checkpoint)
    stored = set(state)
    state = with_tied(model, state)
    weights = os.path.basename(weights_in(checkpoint))
    missing, unexpected = model.state_dict().keys() - state.keys(), state.keys() - model.state_dict().keys()
    if missing or unexpected:
        raise BadInput(file, "{} does not match {}: {}".format(what, weights, "; ".join(
            "{} {}".format(kind, ", ".join(sorted(names)[:4]) + (" …" if len(names) > 4 else "")) for kind, names in
            (("missing", missing), ("unexpected", unexpected)) if names)))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise BadInput(file, "{} does not match {}: {}".format(what, weights, str(e).splitlines()[-1].strip()))
    return model.to(DEVICE).eval(), stored


def user_module(spec):
    """`file.py:factory` → (the module it returns, the file)."""
    path, sep, factory = spec.rpartition(":")
    if not sep or not path or not factory.isidentifier():
        raise BadInput(spec, "--torch-model must be file.py:factory (a function returning the nn.Module)")
    if not os.path.isfile(path):
        raise BadInput(path, "no such file (--torch-model)")
    try:
        mod_spec = importlib.util.spec_from_file_location("reducible_user_model", path)
        user = importlib.util.module_from_spec(mod_spec)
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        mod_spec.loader.exec_module(user)
    except Exception as e:
        raise BadInput(path, "importing it failed: {}: {}".format(type(e).__name__, e))
    fn = getattr(user, factory, None)
    if not callable(fn):
        raise BadInput(path, "has no function {}".format(factory))
    try:
        model = fn()
    except Exception as e:
        raise BadInput(path, "{}() failed: {}: {}".format(factory, type(e).__name__, e))
    if not isinstance(model, nn.Module):
        raise BadInput(path, "{}() returned {}, not a torch.nn.Module".format(factory, type(model).__name__))
    return model, path


def hugging_face_module(folder):
    """A Hugging Face folder's module, built by transformers from its config.json: the user chose
    it by passing the folder (transformers' own code runs, never anything from the folder)."""
    try:
        model = folder_module(folder)
    except ImportError as e:
        if (getattr(e, "name", None) or "").split(".")[0] != "transformers":
            raise BadInput(folder, "importing transformers failed: {}".format(e))
        raise BadInput(folder, "Hugging Face model folder: {} cannot import transformers; pass its model.safetensors "
                               "(or model.safetensors.index.json) with --torch-model file.py:factory".format(sys.executable))
    except Exception as e:
        raise BadInput(os.path.join(folder, "config.json"), "building its model with transformers failed: {}: {}".format(type(e).__name__, e))
    if not isinstance(model, nn.Module):
        raise BadInput(os.path.join(folder, "config.json"), "transformers built a {}, not a torch.nn.Module".format(type(model).__name__))
    return model


def state_dict_of(checkpoint):
    checkpoint = weights_in(checkpoint)
    if checkpoint.endswith(".index.json"):
        with open(checkpoint) as f:
            shards = dict.fromkeys(json.load(f)["weight_map"].values())
        state = {}
        for s in shards:
            state.update(read_safetensors(os.path.join(os.path.dirname(checkpoint), s))[0])
        return state
    if checkpoint.endswith(".safetensors"):
        return read_safetensors(checkpoint)[0]
    obj = torch.load(checkpoint, map_location="cpu", weights_only=True)
    while isinstance(obj, dict) and not all(torch.is_tensor(v) for v in obj.values()):
        inner = [v for v in obj.values() if isinstance(v, dict)]
        if len(inner) != 1:
            raise BadInput(checkpoint, "holds no single state dict")
        obj = inner[0]
    return obj


def output_of(y):
    """The first output: a tensor, a tuple's first, or a Hugging Face output's logits."""
    if torch.is_tensor(y):
        return y
    if hasattr(y, "logits"):
        return y.logits
    if isinstance(y, (tuple, list)) and y:
        return output_of(y[0])
    raise TypeError("the module's output is a {}, not a tensor".format(type(y).__name__))


class Session:
    def __init__(self, model, stored):
        self.model = model
        # What the checkpoint stores: a module tied to a factorised one and not stored on its own is swapped with it.
        self.stored = stored
        # A model that embeds takes token ids: inputs travel as f32 and become int64 here.
        self.tokens = any(isinstance(m, nn.Embedding) for m in model.modules())
        self.reference = None
        self.training = None
        # Layer name → submodule path where they differ (an ONNX graph's layers, onnx_graph.py).
        self.alias = getattr(model, "alias", {})

    def factors_of(self, arrays):
        """factors_of(arrays) keyed by submodule path."""
        return {self.alias.get(n, n): f for n, f in factors_of(arrays).items()}

    def inputs(self, x):
        return x.long() if self.tokens else x

    def batches(self, x):
        per = max(1, x[0].numel())
        step = max(1, (BATCH_TOKENS if self.tokens else BATCH_ELEMENTS) // per)
        for i in range(0, x.shape[0], step):
            yield self.inputs(x[i:i + step].to(DEVICE))

    @torch.no_grad()
    def run(self, x, model=None):
        return torch.cat([output_of((model or self.model)(b)).float() for b in self.batches(x)])

    @torch.no_grad()
    def moments(self, x, names, gram_per_input):
        """XᵀX/N in f64, on the device, of each named nn.Linear's input, and of each nn.Conv1d/2d's
        input patches (rows in·k…, the order of the weight's reshape(out, -1)). Layers fed the same
        tensor one after the other with the same geometry (q/k/v projections) share one Gram: it is
        summed once, for the first."""
        grams, counts, hooks, owner, last = {}, {}, [], {}, [None, None, None]
        for name in names:
            m = self.model.get_submodule(name)
            geometry = conv_geometry(m)
            if not isinstance(m, nn.Linear) and geometry is None:
                continue

            def hook(mod, args, name=name, geometry=geometry):
                x = args[0]
                if x is not last[0] or geometry != last[2]:
                    last[:] = x, name, geometry
                first = owner[name] = last[1]
                if first != name:
                    return
                a = x.reshape(-1, x.shape[-1]) if geometry is None else patches(x, geometry, gram_per_input)
                g = grams.setdefault(name, torch.zeros(a.shape[1], a.shape[1], dtype=torch.float64, device=a.device))
                # In slices of rows, so the f64 copy stays small beside the activations.
                for i in range(0, a.shape[0], GRAM_ROWS):
                    c = a[i:i + GRAM_ROWS].double()
                    g.addmm_(c.T, c)
                counts[name] = counts.get(name, 0) + a.shape[0]
            hooks.append(m.register_forward_pre_hook(hook))
        try:
            for b in self.batches(x):
                self.model(b)
                last[:] = None, None, None
        finally:
            for h in hooks:
                h.remove()
        shared = {first: g / counts[first] for first, g in grams.items()}
        return {name: shared[first] for name, first in owner.items()}, {name: counts[first] for name, first in owner.items()}


def conv_geometry(m):
    """(kernel, stride, padding, dilation) as 2-D tuples of an ungrouped, zero-padded nn.Conv1d/2d
    whose patches F.unfold can cut; None for anything else (its layer is then not whitened)."""
    if not isinstance(m, (nn.Conv1d, nn.Conv2d)) or m.groups != 1 or m.padding_mode != "zeros" or isinstance(m.padding, str):
        return None
    if isinstance(m, nn.Conv2d):
        return tuple(tuple(v) for v in (m.kernel_size, m.stride, m.padding, m.dilation))
    # A Conv1d is a Conv2d over a height of 1.
    return (1, m.kernel_size[0]), (1, m.stride[0]), (0, m.padding[0]), (1, m.dilation[0])


def position_steps(oh, ow, d, budget):
    """core/compress/patches.ts's positionSteps: sub-grid steps (ty, tx) keeping one input's Gram
    within `budget` multiply-adds, the denser axis thinned first, so a convolution's statistics
    cost what they cost for the other formats."""
    most = max(1, budget // (d * d))
    ty = tx = 1
    while -(-oh // ty) * -(-ow // tx) > most:
        if -(-oh // ty) >= -(-ow // tx):
            ty += 1
        else:
            tx += 1
    return ty, tx


def patches(x, geometry, budget):
    """A convolution's input patches as rows [positions · images, in · k…], on a sub-grid of the
    output positions where every position would cost too much (position_steps)."""
    kernel, stride, padding, dilation = geometry
    if x.dim() == 3:
        x = x.unsqueeze(2)
    cols = F.unfold(x, kernel, dilation=dilation, padding=padding, stride=stride)
    n, d = cols.shape[:2]
    oh, ow = ((x.shape[2 + i] + 2 * padding[i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1 for i in (0, 1))
    ty, tx = position_steps(oh, ow, d, budget)
    if ty > 1 or tx > 1:
        cols = cols.reshape(n, d, oh, ow)[:, :, ::ty, ::tx].reshape(n, d, -1)
    return cols.transpose(1, 2).reshape(-1, d)


def swap_in(model, name, a, b, bias, stored):
    """Replaces module `name` by the two-module nn.Sequential the writer writes, and the modules tied to
    it that the checkpoint (`stored`: its names) does not store on their own by their tied forms, as
    reducible_load.py's load_reduced does with the written file. Returns [(name, module replaced)]."""
    old = model.get_submodule(name)
    partners = [(n, m) for n, m in tied_to(model, old) if f"{n}.weight" not in stored]
    kind = "linear" if isinstance(old, nn.Linear) else "embedding" if isinstance(old, nn.Embedding) else "conv"
    dims = {"linear": ("in_features", "out_features"), "embedding": ("num_embeddings", "embedding_dim"), "conv": ("in_channels", "out_channels")}[kind]
    n_in, n_out = (getattr(old, d, None) for d in dims)
    rows = old.weight.numel() // n_out if kind != "embedding" else n_in
    k = a.numel() // rows
    new = factorised(old, {"kind": kind, "rank": k, "in": n_in, "out": n_out})
    a, b = a.reshape(rows, k).to(old.weight), b.reshape(k, -1).to(old.weight)
    first = a if kind == "embedding" else a.T.reshape(k, *old.weight.shape[1:])
    second = b.T.reshape(new[1].weight.shape)
    with torch.no_grad():
        new[0].weight.copy_(first)
        new[1].weight.copy_(second)
        if new[1].bias is not None:
            new[1].bias.copy_(bias.to(old.weight) if bias is not None else old.bias)
    undo = [(name, swap(model, name, new))]
    for n, partner in partners:
        tied, big = tied_form(n, partner, old, new)
        if big is not None:
            with torch.no_grad():
                tied[big].weight.copy_(new[1 - big].weight.T)
        undo.append((n, swap(model, n, tied)))
    return undo


class Swapped:
    """The model with factors swapped in for the duration of a `with`, put back after."""

    def __init__(self, session, factors):
        self.session, self.factors, self.undo = session, factors, []

    def __enter__(self):
        for name, (a, b, bias) in self.factors.items():
            self.undo += swap_in(self.session.model, name, a, b, bias, self.session.stored)
        return self.session.model

    def __exit__(self, *exc):
        for name, old in reversed(self.undo):
            swap(self.session.model, name, old)


def fidelity(ya, yb):
    """core/compress/fidelity.ts's outputFidelity: agreement over every output position (an LM's
    tokens, a text line's steps), `samples` the inputs (the rows of the first axis), as in TF.js,
    since positions of one input are not independent trials for the significance test."""
    width = ya.shape[-1] if ya.dim() > 1 else 1
    a, b = ya.reshape(-1, width).double(), yb.reshape(-1, width).double()
    den = (a ** 2).sum().item()
    num = ((a - b) ** 2).sum().item()
    return {"top1Agreement": (a.argmax(1) == b.argmax(1)).double().mean().item(),
            "relativeOutputError": math.sqrt(num / den) if den > 0 else math.sqrt(num), "samples": ya.shape[0]}


def perplexity(logits, ids):
    """exp of the mean next-token cross-entropy."""
    v = logits.shape[-1]
    return math.exp(F.cross_entropy(logits[:, :-1].reshape(-1, v).double(), ids[:, 1:].reshape(-1).to(logits.device)).item())


class Training:
    """Label-free distillation of the factors toward the original module's outputs. The search
    over temperatures and learning rates, and which weights are kept, is decided in Node
    (core/compress/distil.ts's searchTraining) by the rule every held-out choice uses.
    `also`: stored tensors trained besides the factors (an ONNX graph's biases and layers left
    dense, as core/formats/onnx/finetune.ts trains them in TF.js), given back under `t:<name>`."""

    # Tokens per step for a language model: as many as examples/tiny-lm trains on (16 × 64), so
    # a fine-tuning step costs about what a training step did.
    TOKENS_PER_STEP = 1024
    # The teacher's outputs on every training input are computed once where they take at most
    # this much (a step then runs the student only); a language model's logits over its
    # vocabulary for every token usually take more, and are computed per step.
    TARGET_BYTES = 1 << 30

    def __init__(self, session, factors, x, held, also):
        self.session, self.teacher = session, session.model
        self.student = copy.deepcopy(session.model)
        for name, (a, b, bias) in factors.items():
            swap_in(self.student, name, a, b, bias, session.stored)
        self.names = list(factors)
        for p in self.student.parameters():
            p.requires_grad_(False)
        self.params = [p for n in self.names for p in self.student.get_submodule(n).parameters()]
        self.also = [(name, *self.student.trainable(name)) for name in also]
        self.params += [p for _, p, _ in self.also]
        for p in self.params:
            p.requires_grad_(True)
        # An ONNX softmax classifier is distilled on its logits (the value its final Softmax
        # reads) by KL, any other ONNX output by squared error (distil.ts's rule); a module's
        # class scores (a last axis wider than 1) by KL.
        graph = hasattr(self.student, "logits_name")
        self.outputs = (lambda m, xb: m.logits(xb)) if graph else (lambda m, xb: output_of(m(xb)))
        n = x.shape[0]
        self.x_train, self.x_held = x[:n - held].to(DEVICE), x[n - held:]
        self.y_held = session.run(self.x_held)
        self.classifier = self.student.logits_name is not None if graph else self.y_held.dim() > 1 and self.y_held.shape[-1] > 1
        self.y_train = self.targets()
        self.start = self.snapshot()
        self.best = None

    @torch.no_grad()
    def targets(self):
        """The teacher's outputs on every training input, or None where they would take more than TARGET_BYTES."""
        first = self.outputs(self.teacher, self.session.inputs(self.x_train[:1])).float()
        if first.numel() * 4 * self.x_train.shape[0] > self.TARGET_BYTES:
            return None
        return torch.cat([self.outputs(self.teacher, b).float() for b in self.session.batches(self.x_train)])

    def snapshot(self):
        return [p.detach().clone() for p in self.params]

    def restore(self, values):
        with torch.no_grad():
            for p, v in zip(self.params, values):
                p.copy_(v)

    def score(self):
        return fidelity(self.y_held, self.session.run(self.x_held, self.student))

    def begin(self, temperature, lr, steps, batch_size, seed):
        """Starts a training from the starting factors (Adam, cosine-decayed rate, seeded minibatches)."""
        self.restore(self.start)
        n = self.x_train.shape[0]
        per = self.x_train[0].numel() if self.session.tokens else 1
        bs = max(1, min(batch_size, n, self.TOKENS_PER_STEP // per if self.session.tokens else batch_size))
        self.current = {"T": temperature, "lr": lr, "steps": steps, "bs": bs, "done": 0,
                    "opt": torch.optim.Adam(self.params, lr=lr), "gen": torch.Generator().manual_seed(seed)}

    def steps(self, count):
        """The next `count` steps of the training begun (Node asks a slice at a time, for progress and cancellation)."""
        r = self.current
        n = self.x_train.shape[0]
        T, opt = r["T"], r["opt"]
        for step in range(r["done"], min(r["steps"], r["done"] + count)):
            for group in opt.param_groups:
                group["lr"] = r["lr"] * 0.5 * (1 + math.cos(math.pi * step / r["steps"]))
            rows = torch.randint(n, (r["bs"],), generator=r["gen"]).to(DEVICE)
            xb = self.session.inputs(self.x_train[rows])
            if self.y_train is not None:
                t = self.y_train[rows]
            else:
                with torch.no_grad():
                    t = self.outputs(self.teacher, xb).float()
            s = self.outputs(self.student, xb).float()
            if self.classifier:
                # T²·KL(softmax(t/T) ‖ softmax(s/T)) over the classes (an LM's next tokens), as distil.ts's.
                v = t.shape[-1]
                loss = F.kl_div(F.log_softmax(s.reshape(-1, v) / T, -1), F.log_softmax(t.reshape(-1, v) / T, -1),
                                log_target=True, reduction="batchmean") * T ** 2
            else:
                loss = F.mse_loss(s, t)
            opt.zero_grad()
            loss.backward()
            opt.step()
            r["done"] = step + 1

    def factors(self, keep):
        """The kept (best) or the starting factors, in the job's orientation, named by layer; then the other trained tensors."""
        self.restore(self.best if keep else self.start)
        layer = {path: name for name, path in self.session.alias.items()}
        out = []
        for name in self.names:
            seq = self.student.get_submodule(name)
            w0, w1 = seq[0].weight.detach(), seq[1].weight.detach()
            k = w0.shape[0] if not isinstance(seq[0], nn.Embedding) else w0.shape[1]
            a = w0 if isinstance(seq[0], nn.Embedding) else w0.reshape(k, -1).T
            name = layer.get(name, name)
            out += [("a:" + name, a), ("b:" + name, w1.reshape(w1.shape[0], k).T)]
            if seq[1].bias is not None:
                out.append(("bias:" + name, seq[1].bias.detach()))
        return out + [("t:" + name, stored()) for name, _, stored in self.also]


def read_parts(header, raw):
    arrays, offset = {}, 0
    for name, dtype, n in header.get("parts", []):
        arrays[name] = torch.from_numpy(np.frombuffer(raw, dtype="<f8" if dtype == "f64" else "<f4", count=n // (8 if dtype == "f64" else 4), offset=offset).copy())
        offset += n
    if "x" in arrays:
        arrays["x"] = arrays["x"].reshape(header["shape"])
    return arrays


def factors_of(arrays):
    names = [k[2:] for k in arrays if k.startswith("a:")]
    return {n: (arrays["a:" + n].to(DEVICE), arrays["b:" + n].to(DEVICE), arrays.get("bias:" + n)) for n in names}


def reply(id_, value, parts=()):
    payload, meta = [], []
    for name, t in parts:
        f64 = t.dtype == torch.float64
        data = t.detach().to("cpu").contiguous().numpy().astype("<f8" if f64 else "<f4", copy=False).tobytes()
        payload.append(data)
        meta.append([name, "f64" if f64 else "f32", len(data)])
    body = b"".join(payload)
    send({"id": id_, "type": "result", "value": value, "parts": meta, "bytes": len(body)}, body)


def handle(state, h, arrays):
    op, s = h["op"], state.get("session")
    if op == "open":
        opened = open_graph(h["graph"], arrays) if h.get("graph") else open_module(h.get("module"), h["checkpoint"])
        state["session"] = Session(*opened)
        return {"tokens": state["session"].tokens}, ()
    if s is None:
        raise RuntimeError("no module open")
    if op == "moments":
        m, counts = s.moments(arrays["x"], h["names"], h["gramPerInput"])
        return {"samples": counts}, [("c:" + n, c) for n, c in m.items()]
    if op == "reference":
        s.reference = (arrays["x"], s.run(arrays["x"]))
        y = s.reference[1]
        return {"classifier": y.dim() > 1 and y.shape[-1] > 1}, ()
    if op in ("score", "probe"):
        x, y = s.reference
        with Swapped(s, s.factors_of(arrays)) as variant:
            yb = s.run(x, variant)
        if op == "score":
            return fidelity(y, yb), ()
        return {"err2": ((yb.double() - y.double()) ** 2).sum().item(), "ref2": (y.double() ** 2).sum().item()}, ()
    if op == "release":
        s.reference = s.training = None
        return {}, ()
    if op == "train_begin":
        s.training = Training(s, s.factors_of(arrays), arrays["x"], h["held"], h.get("alsoTrained", []))
        return {"before": s.training.score(), "classifier": s.training.classifier}, ()
    if op == "train":
        s.training.begin(h["temperature"], h["learningRate"], h["steps"], h["batchSize"], h["seed"])
        return {}, ()
    if op == "train_steps":
        s.training.steps(h["count"])
        return {}, ()
    if op == "train_score":
        return s.training.score(), ()
    if op == "train_keep":
        s.training.best = s.training.snapshot()
        return {}, ()
    if op == "train_end":
        parts = s.training.factors(h["keep"])
        s.training = None
        return {}, parts
    if op == "evaluate":
        x = arrays["x"]
        # A copy of the open module, loaded the documented way (every weight the compressed file's).
        compressed = copy.deepcopy(s.model)
        load_reduced(compressed, h["compressed"])
        ya, yb = s.run(x), s.run(x, compressed.to(DEVICE).eval())
        value = fidelity(ya, yb)
        if s.tokens and x.dim() == 2:
            value["perplexity"] = [perplexity(ya, x.long()), perplexity(yb, x.long())]
        if "labels" in arrays:
            labels = arrays["labels"].to(ya.device).long().reshape(-1)
            value["accuracy"] = [(y.reshape(labels.shape[0], -1).argmax(1) == labels).double().mean().item() for y in (ya, yb)]
        return value, ()
    raise ValueError("unknown op {!r}".format(op))


def main():
    gpu = DEVICE.type == "cuda"
    send({"type": "hello", "device": "CUDA · " + torch.cuda.get_device_name(0) if gpu else "CPU · torch " + torch.__version__.split("+")[0],
          "gpu": gpu, "torch": torch.__version__})
    stream, state = sys.stdin.buffer, {}
    while True:
        line = stream.readline()
        if not line:
            return
        h = json.loads(line)
        raw = stream.read(h["bytes"]) if h["bytes"] else b""
        if len(raw) != h["bytes"]:
            return
        try:
            value, parts = handle(state, h, read_parts(h, raw))
            reply(h["id"], value, parts)
        except BadInput as e:
            send({"id": h["id"], "type": "error", "error": str(e), "file": e.file})
        except Exception as e:
            send({"id": h["id"], "type": "error", "error": "{}: {}".format(type(e).__name__, e)})


if __name__ == "__main__":
    main()
