"""An ONNX graph run as a torch.nn.Module, so the PyTorch runner (torch_runner.py) can fine-tune
an ONNX model's factors at PyTorch's speed, on the GPU where there is one.

Node reads the file (core/formats/onnx/read.ts) and sends the graph as plain data
(core/runners/torchRunnerProtocol.ts's OnnxGraph): nodes with their attributes, the float
tensors as arrays, the small integer ones (shape arithmetic) as numbers, and the layers. Each
layer (a Gemm, MatMul or Conv reading a stored weight) becomes a submodule, nn.Linear or
nn.ConvNd holding the weight in PyTorch's layout, so the runner's swap_in replaces it by its
factors as it does in a user's module; biases and every other float tensor are parameters of
their own. The operators are those the TF.js interpreter runs (core/formats/onnx/inTfjsOps.ts),
with the same semantics, and the upsampling ones of segmentation and detection models (Resize,
ConvTranspose); a graph using any other is refused when it is built, naming the node, and Node
then fine-tunes in TF.js where it can.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


class Unsupported(Exception):
    """The graph uses what this interpreter does not run: Node falls back to TF.js."""


def _ints(v):
    return [int(i) for i in (v.tolist() if torch.is_tensor(v) else v)]


def _window(attrs, spatial, x):
    """(strides, dilations, pads as [(before, after)] per spatial axis) of a Conv or pool."""
    kernel = attrs.get("kernel_shape") or []
    strides = attrs.get("strides") or [1] * spatial
    dilations = attrs.get("dilations") or [1] * spatial
    auto = attrs.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        pads = attrs.get("pads") or [0] * (2 * spatial)
        return strides, dilations, [(pads[i], pads[i + spatial]) for i in range(spatial)]
    if auto == "VALID":
        return strides, dilations, [(0, 0)] * spatial
    pads = []
    for i in range(spatial):
        size = x.shape[2 + i]
        out = -(-size // strides[i])
        total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size)
        small, big = total // 2, total - total // 2
        pads.append((small, big) if auto == "SAME_UPPER" else (big, small))
    return strides, dilations, pads


def _pad(x, pads, value=0.0):
    """x (N, C, spatial…) padded by [(before, after)] per spatial axis."""
    if not any(a or b for a, b in pads):
        return x
    flat = []
    for a, b in reversed(pads):
        flat += [a, b]
    return F.pad(x, flat, value=value)


def _spatial_kernel(attrs, w):
    return attrs.get("kernel_shape") or list(w.shape[2:])


class OnnxModule(nn.Module):
    """`graph`: the OnnxGraphMessage (core/runners/torchRunnerProtocol.ts); `floats`: name → f32 tensor (every float tensor it lists)."""

    def __init__(self, graph, floats):
        super().__init__()
        self.nodes = graph["nodes"]
        for n in self.nodes:
            if n["op"] in ("Softmax", "LogSoftmax"):
                n["attrs"]["_opset"] = graph["opset"]
        self.input, self.output, self.logits_name = graph["input"], graph["output"], graph.get("logits")
        self.ints = {k: torch.tensor(v["values"], dtype=torch.int64).reshape(v["shape"]) for k, v in graph["ints"].items()}
        for n in self.nodes:
            if n["op"] not in OPS:
                raise Unsupported("node {} ({}): PyTorch runs {} ONNX operators here, not this one".format(n["name"] or n["outputs"][0], n["op"], len(OPS)))
        self.layer = nn.ModuleDict()
        # Layer name → its submodule's path (ONNX names hold dots and slashes; module names may not).
        self.alias = {}
        self.spec = {}      # submodule key → the layer it holds
        self.by_node = {}   # node index → submodule key
        self.weight_of = {}  # stored weight name → submodule key
        # Each value's last reader: a run drops it there, so a pass without gradients holds the
        # activations still needed, not every one (autograd keeps its own references).
        self.last_use = {name: i for i, n in enumerate(self.nodes) for name in n["inputs"] if name}
        for i, spec in enumerate(graph["layers"]):
            node = next((j for j, n in enumerate(self.nodes) if n["op"] in LAYERS and len(n["inputs"]) > 1 and n["inputs"][1] == spec["weight"]), None)
            if node is None or node in self.by_node:
                continue
            key = "l{}".format(i)
            self.layer[key] = layer_module(self.nodes[node], floats[spec["weight"]], spec)
            self.alias[spec["name"]] = "layer." + key
            self.spec[key], self.by_node[node], self.weight_of[spec["weight"]] = spec, key, key
        # Every other float tensor (biases, constants) is a parameter, trained or not.
        self.tensor = nn.ParameterDict()
        self.tensor_key = {}
        for i, (name, t) in enumerate(floats.items()):
            if name not in self.weight_of:
                self.tensor_key[name] = "t{}".format(i)
                self.tensor[self.tensor_key[name]] = nn.Parameter(t, requires_grad=False)

    def trainable(self, name):
        """The parameter holding stored tensor `name` (a layer's weight: its module's), and how to give it back in the file's layout."""
        key = self.tensor_key.get(name)
        p = self.tensor[key] if key is not None else self.layer[self.weight_of[name]].weight
        return p, lambda: self.stored(name).detach()

    def stored(self, name):
        """A stored float tensor in the file's layout (a layer's weight from its module)."""
        key = self.tensor_key.get(name)
        if key is not None:
            return self.tensor[key]
        key = self.weight_of[name]
        return stored_weight(self.layer[key], self.spec[key])

    def forward(self, x):
        return self.run(x, self.output)

    def logits(self, x):
        """The value the final Softmax reads (a softmax classifier's logits); the output where there is none."""
        return self.run(x, self.logits_name or self.output)

    def run(self, x, until):
        values = {self.input: x}
        for i, n in enumerate(self.nodes):
            if until in values:
                break
            if n["op"] == "Constant" and all(o in self.tensor_key or o in self.ints or o in self.weight_of for o in n["outputs"]):
                continue
            key = self.by_node.get(i)
            # A layer node reads its weight through its submodule (which may hold factors instead).
            args = [None if key and j == 1 else self.value(values, name) for j, name in enumerate(n["inputs"])]
            try:
                outs = LAYERS[n["op"]](self.layer[key], n["attrs"], args) if key else OPS[n["op"]](n["attrs"], args)
            except Exception as e:
                raise RuntimeError("node {} ({}): {}: {}".format(n["name"] or n["outputs"][0], n["op"], type(e).__name__, e)) from e
            for name, v in zip(n["outputs"], outs):
                if name:
                    values[name] = v
            for name in n["inputs"]:
                if name != until and self.last_use.get(name) == i:
                    values.pop(name, None)
        return values[until]

    def value(self, values, name):
        if not name:
            return None
        if name in values:
            return values[name]
        if name in self.ints:
            return self.ints[name]
        if name in self.tensor_key or name in self.weight_of:
            return self.stored(name)
        raise RuntimeError("value {} is used before it is computed".format(name))


def layer_module(node, w, spec):
    """The node's weight `w` (stored layout) as nn.Linear or nn.ConvNd in PyTorch's layout, without bias (biases stay tensors)."""
    a = node["attrs"]
    if node["op"] in ("Gemm", "MatMul"):
        weight = w if spec["transposed"] else w.T
        m = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    else:
        conv = {3: nn.Conv1d, 4: nn.Conv2d, 5: nn.Conv3d}.get(w.dim())
        if conv is None:
            raise Unsupported("node {}: a convolution of {} spatial axes".format(node["name"], w.dim() - 2))
        groups = a.get("group", 1)
        m = conv(w.shape[1] * groups, w.shape[0], tuple(w.shape[2:]), tuple(a.get("strides") or [1] * (w.dim() - 2)),
                 0, tuple(a.get("dilations") or [1] * (w.dim() - 2)), groups, bias=False)
        weight = w
    with torch.no_grad():
        m.weight.copy_(weight.reshape(m.weight.shape))
    return m


def stored_weight(m, spec):
    """The inverse of layer_module's layout change: a dense layer's trained weight as the file stores it."""
    w = m.weight
    return w if spec["kind"] not in ("gemm", "matmul") or spec["transposed"] else w.T


def _gemm_layer(m, a, args):
    y = m(args[0].T if a.get("transA", 0) else args[0])
    if a.get("alpha", 1.0) != 1.0:
        y = a["alpha"] * y
    return [y + a.get("beta", 1.0) * args[2] if len(args) > 2 and args[2] is not None else y]


def _conv_layer(m, a, args):
    x = args[0]
    spatial = x.dim() - 2
    first = m[0] if isinstance(m, nn.Sequential) else m  # factorised: the first factor has the layer's kernel
    _, _, pads = _window({**a, "kernel_shape": _spatial_kernel(a, first.weight)}, spatial, x)
    y = m(_pad(x, pads))
    if len(args) > 2 and args[2] is not None:
        y = y + args[2].reshape(1, -1, *[1] * spatial)
    return [y]


LAYERS = {
    "Gemm": _gemm_layer,
    "MatMul": lambda m, a, args: [m(args[0])],
    "Conv": _conv_layer,
}


def _gemm(a, args):
    x, w = args[0], args[1]
    if a.get("transA", 0):
        x = x.T
    if a.get("transB", 0):
        w = w.T
    y = a.get("alpha", 1.0) * (x @ w)
    return [y + a.get("beta", 1.0) * args[2] if len(args) > 2 and args[2] is not None else y]


def _conv(a, args):
    x, w = args[0], args[1]
    spatial = x.dim() - 2
    strides, dilations, pads = _window({**a, "kernel_shape": _spatial_kernel(a, w)}, spatial, x)
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[spatial]
    bias = args[2] if len(args) > 2 else None
    return [fn(_pad(x, pads), w, bias, strides, 0, dilations, a.get("group", 1))]


def _pool(kind):
    def op(a, args):
        x = args[0]
        spatial = x.dim() - 2
        k = a.get("kernel_shape")
        strides, dilations, pads = _window(a, spatial, x)
        ceil = bool(a.get("ceil_mode", 0))
        if kind == "max":
            fn = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}[spatial]
            return [fn(_pad(x, pads, -math.inf), k, strides, 0, dilations, ceil_mode=ceil)]
        if any(d != 1 for d in dilations):
            raise Unsupported("dilated average pooling")
        fn = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}[spatial]
        if a.get("count_include_pad", 0) or not any(p or q for p, q in pads):
            return [fn(_pad(x, pads), k, strides, 0, ceil_mode=ceil)]
        if any(p != q or 2 * p > kk for (p, q), kk in zip(pads, k)):
            raise Unsupported("average pooling over uneven pads that are not counted")
        return [fn(x, k, strides, [p for p, _ in pads], ceil_mode=ceil, count_include_pad=False)]
    return op


def _conv_transpose(a, args):
    x, w = args[0], args[1]
    spatial = x.dim() - 2
    pads = a.get("pads") or [0] * (2 * spatial)
    if a.get("auto_pad", "NOTSET") not in ("NOTSET", "") or a.get("output_shape") or pads[:spatial] != pads[spatial:]:
        raise Unsupported("ConvTranspose with auto_pad, output_shape or uneven pads")
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[spatial]
    return [fn(x, w, args[2] if len(args) > 2 else None, a.get("strides") or 1, pads[:spatial],
               a.get("output_padding") or 0, a.get("group", 1), a.get("dilations") or 1)]


def _resize(a, args):
    """Resize's modes F.interpolate computes the same way: nearest with asymmetric coordinates
    and floor (what PyTorch and Paddle export for upsampling), linear with half_pixel or
    align_corners."""
    x = args[0]
    spatial = x.dim() - 2
    mode, coords = a.get("mode", "nearest"), a.get("coordinate_transformation_mode", "half_pixel")
    scales = args[2] if len(args) > 2 and args[2] is not None and args[2].numel() else None
    sizes = args[3] if len(args) > 3 and args[3] is not None and args[3].numel() else None
    if sizes is not None:
        size = _ints(sizes)[2:]
    elif scales is not None:
        factors = [float(v) for v in scales.tolist()]
        if factors[:2] != [1.0, 1.0]:
            raise Unsupported("Resize of the batch or channel axis")
        size = [int(math.floor(n * f)) for n, f in zip(x.shape[2:], factors[2:])]
    else:
        raise Unsupported("Resize without scales or sizes")
    if mode == "nearest" and coords == "asymmetric" and a.get("nearest_mode", "round_prefer_floor") == "floor":
        return [F.interpolate(x, size=size, mode="nearest")]
    if mode == "linear" and coords in ("half_pixel", "pytorch_half_pixel", "align_corners") and spatial in (1, 2, 3):
        kind = {1: "linear", 2: "bilinear", 3: "trilinear"}[spatial]
        return [F.interpolate(x, size=size, mode=kind, align_corners=coords == "align_corners")]
    raise Unsupported("Resize mode {} with {} coordinates".format(mode, coords))


def _batch_norm(a, args):
    x, scale, bias, mean, var = args[:5]
    shape = (1, -1) + (1,) * (x.dim() - 2)
    inv = scale / torch.sqrt(var + a.get("epsilon", 1e-5))
    return [(x - mean.reshape(shape)) * inv.reshape(shape) + bias.reshape(shape)]


def _binary(fn):
    return lambda a, args: [fn(args[0], args[1])]


def _div(x, y):
    if not x.is_floating_point() and not y.is_floating_point():
        return torch.div(x, y, rounding_mode="trunc")
    return x / y


def _same_device(x, y):
    return y.to(x.device) if torch.is_tensor(y) and torch.is_tensor(x) and y.device != x.device else y


def _elementwise(fn):
    def op(a, args):
        x, y = args[0], _same_device(args[0], args[1])
        if x.is_floating_point() != y.is_floating_point():
            x, y = x.float(), y.float()
        return [fn(x, y)]
    return op


def _clip(a, args):
    lo = args[1] if len(args) > 1 and args[1] is not None else a.get("min")
    hi = args[2] if len(args) > 2 and args[2] is not None else a.get("max")
    lo = lo.item() if torch.is_tensor(lo) else lo
    hi = hi.item() if torch.is_tensor(hi) else hi
    return [torch.clamp(args[0], lo, hi)]


def _softmax(log):
    def op(a, args):
        x = args[0]
        if a["_opset"] >= 13:
            axis = a.get("axis", -1)
            return [(F.log_softmax if log else F.softmax)(x, axis)]
        # Before opset 13 the input is flattened to 2-D at `axis` (default 1).
        axis = a.get("axis", 1) % x.dim()
        flat = x.reshape(math.prod(x.shape[:axis]), -1)
        return [(F.log_softmax if log else F.softmax)(flat, 1).reshape(x.shape)]
    return op


def _axes(a, args, at):
    v = args[at] if len(args) > at and args[at] is not None else a.get("axes")
    return None if v is None else _ints(v)


def _reduce_mean(a, args):
    axes = _axes(a, args, 1)
    keep = bool(a.get("keepdims", 1))
    x = args[0]
    return [x.mean(dim=axes, keepdim=keep) if axes else x.mean().reshape([1] * x.dim() if keep else [])]


def _reshape(a, args):
    x, shape = args[0], _ints(args[1])
    if not a.get("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return [x.reshape(shape)]


def _flatten(a, args):
    x = args[0]
    axis = a.get("axis", 1) % max(1, x.dim()) if x.dim() else 0
    return [x.reshape(math.prod(x.shape[:axis]), -1)]


def _transpose(a, args):
    x = args[0]
    return [x.permute(a.get("perm") or list(reversed(range(x.dim()))))]


def _squeeze(a, args):
    x, axes = args[0], _axes(a, args, 1)
    if axes is None:
        return [x.squeeze()]
    for ax in sorted((ax % x.dim() for ax in axes), reverse=True):
        x = x.squeeze(ax)
    return [x]


def _unsqueeze(a, args):
    x, axes = args[0], _axes(a, args, 1)
    rank = x.dim() + len(axes)
    for ax in sorted(ax % rank for ax in axes):
        x = x.unsqueeze(ax)
    return [x]


def _concat(a, args):
    xs = [t for t in args if t is not None and t.numel() > 0] or [args[0]]
    if any(t.is_floating_point() for t in xs):
        xs = [_same_device(xs[0], t.float()) for t in xs]
    return [torch.cat(xs, a["axis"])]


def _shape(a, args):
    shape = list(args[0].shape)
    start, end = a.get("start", 0), a.get("end", len(shape))
    return [torch.tensor(shape[start:end], dtype=torch.int64)]


def _gather(a, args):
    x, idx = args[0], args[1]
    axis = a.get("axis", 0) % x.dim()
    i = idx.to(x.device).long()
    i = torch.where(i < 0, i + x.shape[axis], i)
    out = torch.index_select(x, axis, i.reshape(-1))
    return [out.reshape(x.shape[:axis] + i.shape + x.shape[axis + 1:])]


def _slice(a, args):
    x = args[0]
    if len(args) > 1:
        starts, ends = _ints(args[1]), _ints(args[2])
        axes = _ints(args[3]) if len(args) > 3 and args[3] is not None else list(range(len(starts)))
        steps = _ints(args[4]) if len(args) > 4 and args[4] is not None else [1] * len(starts)
    else:
        starts, ends = a["starts"], a["ends"]
        axes, steps = a.get("axes") or list(range(len(starts))), [1] * len(starts)
    index = [slice(None)] * x.dim()
    for s, e, ax, st in zip(starts, ends, axes, steps):
        if st <= 0:
            raise Unsupported("Slice with a step that is not positive")
        index[ax % x.dim()] = slice(s, e, st)
    return [x[tuple(index)]]


# ONNX TensorProto.DataType: the float types become f32, the integer ones int64, bool stays bool.
_CAST = {1: torch.float32, 10: torch.float32, 11: torch.float32, 16: torch.float32, 9: torch.bool}


def _cast(a, args):
    return [args[0].to(_CAST.get(a["to"], torch.int64))]


def _pad_op(a, args):
    x = args[0]
    if a.get("mode", "constant") != "constant":
        raise Unsupported("Pad mode {}".format(a.get("mode")))
    pads = _ints(args[1]) if len(args) > 1 and args[1] is not None else a["pads"]
    value = args[2].item() if len(args) > 2 and args[2] is not None else a.get("value", 0.0)
    r = x.dim()
    flat = []
    for i in reversed(range(r)):
        flat += [pads[i], pads[i + r]]
    return [F.pad(x, flat, value=value)]


def _constant(a, args):
    if "value_float" in a:
        return [torch.tensor(a["value_float"], dtype=torch.float32)]
    if "value_floats" in a:
        return [torch.tensor(a["value_floats"], dtype=torch.float32)]
    if "value_int" in a:
        return [torch.tensor(a["value_int"], dtype=torch.int64)]
    if "value_ints" in a:
        return [torch.tensor(a["value_ints"], dtype=torch.int64)]
    raise Unsupported("a Constant of a kind not sent")


def _unary(fn):
    return lambda a, args: [fn(args[0])]


OPS = {
    "Gemm": _gemm,
    "MatMul": _binary(torch.matmul),
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "Resize": _resize,
    "MaxPool": _pool("max"),
    "AveragePool": _pool("avg"),
    "GlobalAveragePool": _unary(lambda x: x.mean(dim=tuple(range(2, x.dim())), keepdim=True)),
    "GlobalMaxPool": _unary(lambda x: x.amax(dim=tuple(range(2, x.dim())), keepdim=True)),
    "BatchNormalization": _batch_norm,
    "Add": _elementwise(torch.add),
    "Sub": _elementwise(torch.sub),
    "Mul": _elementwise(torch.mul),
    "Div": _elementwise(_div),
    "Pow": _elementwise(torch.pow),
    "Max": lambda a, args: [torch.stack(torch.broadcast_tensors(*args)).amax(0)],
    "Min": lambda a, args: [torch.stack(torch.broadcast_tensors(*args)).amin(0)],
    "Relu": _unary(F.relu),
    "LeakyRelu": lambda a, args: [F.leaky_relu(args[0], a.get("alpha", 0.01))],
    "Elu": lambda a, args: [F.elu(args[0], a.get("alpha", 1.0))],
    "Sigmoid": _unary(torch.sigmoid),
    "HardSigmoid": lambda a, args: [torch.clamp(a.get("alpha", 0.2) * args[0] + a.get("beta", 0.5), 0, 1)],
    "Tanh": _unary(torch.tanh),
    "Exp": _unary(torch.exp),
    "Log": _unary(torch.log),
    "Sqrt": _unary(torch.sqrt),
    "Neg": _unary(torch.neg),
    "Abs": _unary(torch.abs),
    "Erf": _unary(torch.erf),
    "Clip": _clip,
    "Softmax": _softmax(False),
    "LogSoftmax": _softmax(True),
    "ReduceMean": _reduce_mean,
    "Identity": _unary(lambda x: x),
    "Dropout": _unary(lambda x: x),
    "Constant": _constant,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "Concat": _concat,
    "Shape": _shape,
    "Gather": _gather,
    "Slice": _slice,
    "Cast": _cast,
    "Pad": _pad_op,
}
