"""Reducible's PyTorch worker: runs spectra and truncated SVDs for the Node engine.

Protocol (stdio, both ways): a frame is one UTF-8 JSON header line followed by exactly
header["bytes"] raw little-endian bytes. Requests carry one row-major float32 matrix:
  {"id": 1, "op": "spectrum", "rows": r, "cols": c, "bytes": 4*r*c}
  {"id": 2, "op": "svd", "rows": r, "cols": c, "rank": k, "bytes": 4*r*c}
or name where it lies in a model file (core/engines/torchProtocol.ts, FileRequest), so
tensor bytes never cross the pipe:
  {"id": 3, "op": "spectrum", "rows": r, "cols": c, "bytes": 0, "file": {...}, "keep": {...}}
  {"id": 4, "op": "factors", "rows": r, "cols": c, "rank": k, "bytes": 0, "file": {...},
   "reuse": {...}, "into": {"path": p, "a": offset, "b": offset}}
`keep` leaves the spectrum's eigenvectors at a place in a scratch file for the same matrix's
`factors` (`reuse`): one eigendecomposition per layer. `factors` writes the balanced factors
A = U·√Σ, B = √Σ·Vᵀ of the layer's matrix (the transpose of the stored one when
file.transposed) as f32 at `into`'s offsets, and replies with the kept singular values and
the matrix's energy Σw².
Replies, in request order:
  {"type": "hello", "device": "...", "gpu": bool, "torch": "...", "devices": n}  (once)
  {"type": "fatal", "error": "..."}                                        (start-up failure)
  {"id": 1, "type": "result", "parts": [["s", "f64", n]], "bytes": n}      (parts concatenated)
  {"id": 1, "type": "error", "error": "...", "file": "..."}                (file: bad input there)
A reader thread prefetches the next matrix (reading it, and moving it to the device) while the
main thread computes, and a writer thread writes factors and sends results, so I/O overlaps
the maths; at most one matrix waits on each side of the computation.
Environment (set by Node, core/engines/torchWorker.ts): REDUCIBLE_TORCH_PRECISION, _DEVICE,
_THREADS; and one bench switch, REDUCIBLE_TORCH_KEEP=0, which stops spectra keeping their
eigenvectors: a spectrum with a `keep` place then computes values only (eigvalsh) and writes
nothing there, so its `factors` (finding no kept vectors at `reuse`) come from the randomized
or exact SVD as without a place. bench/gpu/run.py times compress both ways, to tell which
default is faster on a GPU (on a 2-core CPU keeping wins: one eigh per layer instead of an
eigvalsh and a randomized SVD).
Never imports anything from a model file: it only sees raw matrices.
"""
import errno
import json
import math
import os
import queue
import stat
import sys
import threading

MIN_TORCH = (1, 9)  # torch.linalg.eigvalsh / eigh / qr as used below
# Matrices waiting beside the one being computed, each side: memory holds about three layers.
PREFETCH = 1
MAX_POWER_ITERATIONS = 30
ENERGY_TOLERANCE = 1e-4

out = sys.stdout.buffer
# Anything a library prints must not corrupt the protocol stream.
sys.stdout = sys.stderr
out_lock = threading.Lock()


def send(header, payload=b""):
    line = (json.dumps(header) + "\n").encode("utf-8")
    with out_lock:
        out.write(line)
        if payload:
            out.write(payload)
        out.flush()


def fatal(message):
    send({"type": "fatal", "error": message})
    sys.exit(3)


if sys.version_info < (3, 7):
    fatal("Python {}.{} is too old for the PyTorch worker (needs 3.7+)".format(*sys.version_info[:2]))

try:
    import numpy as np
    import torch
except ImportError as e:
    fatal("cannot import {} ({})".format(getattr(e, "name", None) or "torch", e))


def version_tuple(v):
    parts = []
    for p in v.split("+")[0].split(".")[:2]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


if version_tuple(torch.__version__) < MIN_TORCH:
    fatal("torch {} is too old (needs {}.{}+)".format(torch.__version__, *MIN_TORCH))


def usable_cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# Several CPU workers share the cores between them (REDUCIBLE_TORCH_WORKERS); one alone takes
# them all (some builds, Debian's among them, default to one thread).
torch.set_num_threads(max(1, int(os.environ.get("REDUCIBLE_TORCH_THREADS") or usable_cores())))
DEVICE_INDEX = int(os.environ.get("REDUCIBLE_TORCH_DEVICE", "0"))
# Bench switch (see the docstring): "0" computes spectra without keeping their eigenvectors.
KEEP_VECTORS = os.environ.get("REDUCIBLE_TORCH_KEEP", "1") != "0"


def pick_device():
    if torch.cuda.is_available():
        index = DEVICE_INDEX % torch.cuda.device_count()
        return torch.device("cuda", index), "CUDA · " + torch.cuda.get_device_name(index), True
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps"), "MPS · Apple GPU", True
    major, minor = version_tuple(torch.__version__)
    return torch.device("cpu"), "CPU · torch {}.{}".format(major, minor), False


def fast_float64(device):
    """CPUs and data-centre GPUs (A100, H100: compute capability 8.0, 9.x) run f64 at full
    speed; consumer GPUs run it at 1/32–1/64 of f32, and MPS has no f64 at all."""
    if device.type == "cpu":
        return True
    if device.type == "cuda":
        capability = torch.cuda.get_device_capability(device)
        return capability in ((6, 0), (7, 0), (8, 0)) or capability[0] >= 9
    return False


DEVICE, DESCRIPTION, GPU = pick_device()
# Spectra and every small factorisation run in f64 on F64_DEVICE (the CPU for MPS). The big
# products of the truncated SVD run on DEVICE in BIG_DTYPE: f64 where it is fast, else f32,
# which changes reconstruction errors far below the 1e-3 the engines promise.
F64_DEVICE = DEVICE if DEVICE.type != "mps" else torch.device("cpu")
PRECISION = os.environ.get("REDUCIBLE_TORCH_PRECISION", "auto")
BIG_DTYPE = torch.float64 if PRECISION == "f64" or (PRECISION != "f32" and fast_float64(DEVICE)) else torch.float32


def read_exact(stream, n):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = stream.readinto(view[got:])
        if not k:
            raise EOFError("input ended inside a frame")
        got += k
    return buf


class BadInput(Exception):
    """A problem with a file the request names: Node reports it as bad input naming `file`."""

    def __init__(self, file, message):
        super().__init__(message)
        self.file = file


# Stored element types a file request may name: numpy's type for the bytes, and their width.
STORED = {"float32": ("<f4", 4), "float64": ("<f8", 8), "float16": ("<f2", 2), "bfloat16": ("<u2", 2)}


def read_range(path, offset, count, dtype, model):
    """`count` elements of `dtype` at `offset` of a regular file, as f32 numpy values."""
    np_dtype, width = STORED[dtype]
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise BadInput(model, "cannot open {} ({})".format(path, e.strerror))
    with os.fdopen(fd, "rb", buffering=0) as f:
        size = os.fstat(fd)
        if not stat.S_ISREG(size.st_mode):
            raise BadInput(model, "{} is not a regular file".format(path))
        end = offset + count * width
        if end > size.st_size:
            raise BadInput(model, "truncated or corrupt: {} needs bytes {}..{} of {}".format(path, offset, end, size.st_size))
        values = np.empty(count, dtype=np_dtype)
        view = memoryview(values).cast("B")
        f.seek(offset)
        got = 0
        while got < len(view):
            n = f.readinto(view[got:])
            if not n:
                raise BadInput(model, "{} shrank while reading".format(path))
            got += n
    if dtype == "bfloat16":
        return (values.astype(np.uint32) << 16).view(np.float32)
    return values.astype(np.float32, copy=False)


def js_number(v):
    """A non-finite value as Node's message spells it (String(v))."""
    return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")


def check_finite(values, model, tensor, layer):
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        raise BadInput(model, "tensor {} (layer {}) holds {} at element {}: weights must be finite".format(tensor, layer, js_number(float(values[i])), i))


def read_matrix(header):
    """The stored rows×cols matrix a file request names, checked like Node's reader checks it
    (its bias too: a NaN there is as bad as in the weight)."""
    spec = header["file"]
    rows, cols = header["rows"], header["cols"]
    values = read_range(spec["path"], spec["offset"], rows * cols, spec["dtype"], spec["model"])
    check_finite(values, spec["model"], spec["tensor"], spec["layer"])
    bias = spec.get("bias")
    if bias:
        check_finite(read_range(bias["path"], bias["offset"], bias["length"], bias["dtype"], spec["model"]), spec["model"], bias["tensor"], spec["layer"])
    return values.reshape(rows, cols)


def reader(jobs):
    """Parses request frames and queues (header, f32 matrix already on DEVICE, or the BadInput
    reading it), then None at EOF."""
    stream = sys.stdin.buffer
    try:
        while True:
            line = stream.readline()
            if not line:
                break
            header = json.loads(line)
            raw = read_exact(stream, header["bytes"])
            try:
                a = read_matrix(header) if "file" in header else np.frombuffer(raw, dtype="<f4").reshape(header["rows"], header["cols"])
            except BadInput as e:
                jobs.put((header, e))
                continue
            jobs.put((header, torch.from_numpy(a).to(DEVICE)))
    except Exception as e:  # a broken stream ends the worker; Node reports the exit
        print("reducible torch worker: bad input: {}".format(e), file=sys.stderr)
    jobs.put(None)


def pwrite_all(path, offset, data):
    """Writes into a file Node made (a scratch file beside the output): never creates one."""
    fd = os.open(path, os.O_WRONLY)
    try:
        view = memoryview(data).cast("B")
        done = 0
        while done < len(view):
            done += os.pwrite(fd, view[done:], offset + done)
    finally:
        os.close(fd)


def writer(results):
    """Writes each result's files (device → host happens here), then sends its reply."""
    while True:
        item = results.get()
        if item is None:
            return
        header, parts, value, writes = item
        if parts is None:
            send(header)
            continue
        try:
            skipping = False
            for path, offset, t, required in writes:
                if skipping and not required:
                    continue
                try:
                    pwrite_all(path, offset, host(t))
                except OSError:
                    if required:
                        raise
                    # Kept vectors that cannot be written (a full disk) only mean the factors
                    # are computed afresh: the rest of them, the header last, is not written.
                    skipping = True
            send(*reply(header, parts, value))
        except OSError as e:
            # Factors that cannot be written fail the job, naming the file as Node names an output it cannot write.
            code = errno.errorcode.get(e.errno, str(e.errno))
            send({"id": header["id"], "type": "error", "error": "cannot write ({}): {}".format(code, (e.strerror or "").lower()), "file": path})


def host(t):
    """A tensor's values as contiguous little-endian bytes on the host, in its own dtype."""
    return t.detach().to("cpu").contiguous().numpy()


def small(x):
    """x in f64 on F64_DEVICE: where spectra and the small, precision-sensitive steps run."""
    return x.to(F64_DEVICE, torch.float64)


def orth(x):
    """Orthonormal basis of x's columns (computed in f64), keeping each column's direction
    (sign) where defined; returned on x's device in x's dtype."""
    q, r = torch.linalg.qr(small(x))
    signs = torch.sign(torch.diagonal(r))
    signs[signs == 0] = 1
    return (q * signs).to(x)


def gram(a):
    """The f64 Gram matrix of a's smaller side, and whether that side is its columns."""
    a = small(a)
    tall = a.shape[1] <= a.shape[0]
    return (a.T @ a if tall else a @ a.T), tall


def spectrum(a):
    return torch.linalg.eigvalsh(gram(a)[0]).clamp_min(0).sqrt().flip(0)


# A spectrum's eigenvectors kept for the same matrix's factors, at a place in a scratch file:
# header (f64: magic, rows, cols, side, count), the eigenvalues descending (f64 × side), then
# `count` eigenvectors (f32 × side each). Every vector fits in the place Node reserves
# (core/compress/reductions.ts: an embedded reduction of the same side, ≥ 4·side² + 36·side
# bytes), and f32 vectors keep reconstruction errors far below the engines' 1e-3 contract.
KEPT_MAGIC = float(0x54564331)  # "TVC1"; the embedded engine's reductions are "RDC1"
KEPT_HEADER = 5 * 8


def spectrum_keeping(a, place):
    """The spectrum from one eigh whose vectors are kept at `place`: returns the values and the
    writes that keep them (the header last, so a place cut short never matches)."""
    g, _ = gram(a)
    ev, vecs = torch.linalg.eigh(g)
    ev = ev.flip(0).clamp_min(0)
    side = ev.shape[0]
    vectors = vecs.flip(1).T.to(torch.float32)
    head = torch.tensor([KEPT_MAGIC, a.shape[0], a.shape[1], side, side], dtype=torch.float64)
    path, at = place["path"], place["offset"]
    writes = [(path, at + KEPT_HEADER, ev, False), (path, at + KEPT_HEADER + 8 * side, vectors, False), (path, at, head, False)]
    return ev.sqrt(), writes


def read_kept(place, rows, cols, rank):
    """The top `rank` eigenpairs a spectrum kept at `place` for this matrix, or None."""
    try:
        fd = os.open(place["path"], os.O_RDONLY)
    except OSError:
        return None
    try:
        head = np.frombuffer(os.pread(fd, KEPT_HEADER, place["offset"]), dtype="<f8")
        if len(head) < 5 or list(head) != [KEPT_MAGIC, rows, cols, head[3], head[4]] or rank > head[4]:
            return None
        side = int(head[3])
        at = place["offset"] + KEPT_HEADER
        ev = np.frombuffer(os.pread(fd, 8 * rank, at), dtype="<f8")
        vectors = np.frombuffer(os.pread(fd, 4 * side * rank, at + 8 * side), dtype="<f4")
        if len(ev) < rank or len(vectors) < side * rank:
            return None
        return torch.from_numpy(ev.copy()), torch.from_numpy(vectors.reshape(rank, side).T.copy())
    finally:
        os.close(fd)


def from_eigenpairs(a, ev, side, tall):
    """The SVD whose smaller side's vectors and squared values the Gram's eigenpairs give."""
    a = small(a)
    side = small(side)
    s = ev.to(side).clamp_min(0).sqrt()
    if tall:
        return orth(a @ side), s, side.T
    return side, s, orth(a.T @ side).T


def sample_size(rank, p):
    return min(p, rank + max(10, -(-rank // 4)))


def exact_svd(a, rank):
    g, tall = gram(a)
    ev, vecs = torch.linalg.eigh(g)
    return from_eigenpairs(a, ev.flip(0)[:rank], vecs.flip(1)[:, :rank], tall)


def top_energy(b, rank):
    b = small(b)
    return torch.linalg.eigvalsh(b.T @ b)[-rank:].clamp_min(0).sum().item()


def randomized_svd(a, rank):
    """Same algorithm as the embedded engine: power iterations until the energy kept at
    `rank` stops growing, then the SVD of the small projected matrix."""
    a = a.to(BIG_DTYPE)
    m, n = a.shape
    l = sample_size(rank, min(m, n))
    gen = torch.Generator().manual_seed(0x5EED)
    omega = torch.randn(n, l, generator=gen, dtype=a.dtype).to(a.device)
    total = (small(a) ** 2).sum().item()
    q = orth(a @ omega)
    b = a.T @ q  # columns are the rows of B = QᵀA
    captured = top_energy(b, rank)
    for _ in range(MAX_POWER_ITERATIONS):
        q = orth(a @ orth(b))
        b = a.T @ q
        nxt = top_energy(b, rank)
        gain = nxt - captured
        captured = nxt
        if gain <= ENERGY_TOLERANCE * (total - nxt) or gain <= 1e-14 * total:
            break
    b64 = small(b)
    ev, ub = torch.linalg.eigh(b64.T @ b64)
    ev = ev.flip(0)[:rank]
    ub = ub.flip(1)[:, :rank]
    return q @ ub.to(q), ev.clamp_min(0).sqrt(), orth(b @ ub.to(b)).T


def truncated_svd(a, rank, reuse=None):
    if rank == 0:
        m, n = a.shape
        return a.new_zeros(m, 0), a.new_zeros(0), a.new_zeros(0, n)
    kept = reuse and read_kept(reuse, a.shape[0], a.shape[1], rank)
    if kept:
        return from_eigenpairs(a, kept[0], kept[1], a.shape[1] <= a.shape[0])
    p = min(a.shape)
    if sample_size(rank, p) * 4 <= p:
        return randomized_svd(a, rank)
    return exact_svd(a, rank)


def balanced(u, s, vt, transposed):
    """A = U·√Σ and B = √Σ·Vᵀ of the layer's matrix, f32: the stored matrix's, or, when the
    file stores the transpose (S = Wᵀ = U·Σ·Vᵀ, so W = V·Σ·Uᵀ), the transpose's."""
    r = s.sqrt()
    a = u * r.to(u)
    b = vt * r.to(vt)[:, None]
    if transposed:
        a, b = b.T, a.T
    return a.to(torch.float32), b.to(torch.float32)


def run(header, a):
    """The reply's parts (tensors, made bytes by the writer), any value, and the file writes."""
    if isinstance(a, BadInput):
        raise a
    op = header["op"]
    if op == "spectrum":
        keep = header.get("keep") if KEEP_VECTORS else None
        s, writes = spectrum_keeping(a, keep) if keep else (spectrum(a), [])
        return [("s", "f64", s)], None, writes
    if op not in ("svd", "factors"):
        raise ValueError("unknown op {!r}".format(op))
    rank = int(header["rank"])
    if rank < 0 or rank > min(a.shape):
        raise ValueError("rank {} is outside [0, {}]".format(rank, min(a.shape)))
    u, s, vt = truncated_svd(a, rank, header.get("reuse"))
    if op == "svd":
        return [("u", "f32", u), ("s", "f64", s), ("vt", "f32", vt)], None, []
    into = header["into"]
    fa, fb = balanced(u, s, vt, header["file"]["transposed"])
    energy = torch.sum(small(a) ** 2).item()  # f64 where it exists (not on MPS)
    return [("s", "f64", s)], {"energy": energy}, [(into["path"], into["a"], fa, True), (into["path"], into["b"], fb, True)]


NUMPY = {"f32": "<f4", "f64": "<f8"}


def reply(header, parts, value):
    """The result frame: header and payload (device → host copies happen here, on the writer)."""
    data = [host(t).astype(NUMPY[dtype], copy=False).tobytes() for _, dtype, t in parts]
    meta = [[name, dtype, len(d)] for (name, dtype, _), d in zip(parts, data)]
    out = {"id": header["id"], "type": "result", "parts": meta, "bytes": sum(len(d) for d in data)}
    if value is not None:
        out["value"] = value
    return out, b"".join(data)


def main():
    devices = torch.cuda.device_count() if DEVICE.type == "cuda" else 1
    send({"type": "hello", "device": DESCRIPTION, "gpu": GPU, "torch": torch.__version__, "devices": devices})
    jobs = queue.Queue(maxsize=PREFETCH)
    results = queue.Queue(maxsize=PREFETCH)
    threading.Thread(target=reader, args=(jobs,), daemon=True).start()
    w = threading.Thread(target=writer, args=(results,), daemon=True)
    w.start()
    while True:
        item = jobs.get()
        if item is None:
            break
        header, a = item
        try:
            results.put((header,) + run(header, a))
        except BadInput as e:
            results.put(({"id": header["id"], "type": "error", "error": str(e), "file": e.file}, None, None, None))
        except Exception as e:
            results.put(({"id": header["id"], "type": "error", "error": "{}: {}".format(type(e).__name__, e)}, None, None, None))
    results.put(None)
    w.join()


if __name__ == "__main__":
    main()
