"""Reducible's PyTorch worker: runs spectra and truncated SVDs for the Node engine.

Protocol (stdio, both ways): a frame is one UTF-8 JSON header line followed by exactly
header["bytes"] raw little-endian bytes. Requests carry one row-major float32 matrix:
  {"id": 1, "op": "spectrum", "rows": r, "cols": c, "bytes": 4*r*c}
  {"id": 2, "op": "svd", "rows": r, "cols": c, "rank": k, "bytes": 4*r*c}
Replies, in request order:
  {"type": "hello", "device": "...", "gpu": bool, "torch": "..."}          (once, at start)
  {"type": "fatal", "error": "..."}                                        (start-up failure)
  {"id": 1, "type": "result", "parts": [["s", "f64", n]], "bytes": n}      (parts concatenated)
  {"id": 1, "type": "error", "error": "..."}
A reader thread prefetches the next matrices (and moves them to the device) while the
main thread computes, and a writer thread sends results, so I/O overlaps the maths.
Never imports anything from a model file: it only sees raw matrices.
"""
import json
import os
import queue
import sys
import threading

MIN_TORCH = (1, 9)  # torch.linalg.eigvalsh / eigh / qr as used below
PREFETCH = 3
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


def pick_device():
    if torch.cuda.is_available():
        return torch.device("cuda"), "CUDA · " + torch.cuda.get_device_name(0), True
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
        return torch.cuda.get_device_capability(0) in ((6, 0), (7, 0), (8, 0)) or torch.cuda.get_device_capability(0)[0] >= 9
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


def reader(jobs):
    """Parses request frames and queues (header, f32 matrix already on DEVICE), then None at EOF."""
    stream = sys.stdin.buffer
    try:
        while True:
            line = stream.readline()
            if not line:
                break
            header = json.loads(line)
            raw = read_exact(stream, header["bytes"])
            a = np.frombuffer(raw, dtype="<f4").reshape(header["rows"], header["cols"])
            jobs.put((header, torch.from_numpy(a).to(DEVICE)))
    except Exception as e:  # a broken stream ends the worker; Node reports the exit
        print("reducible torch worker: bad input: {}".format(e), file=sys.stderr)
    jobs.put(None)


def writer(results):
    while True:
        item = results.get()
        if item is None:
            return
        send(*item)


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


def spectrum(a):
    a = small(a)
    g = a.T @ a if a.shape[1] <= a.shape[0] else a @ a.T
    ev = torch.linalg.eigvalsh(g)
    return ev.clamp_min(0).sqrt().flip(0)


def sample_size(rank, p):
    return min(p, rank + max(10, -(-rank // 4)))


def exact_svd(a, rank):
    a = small(a)
    m, n = a.shape
    tall = n <= m
    g = a.T @ a if tall else a @ a.T
    ev, vecs = torch.linalg.eigh(g)
    ev = ev.flip(0)[:rank]
    side = vecs.flip(1)[:, :rank]
    s = ev.clamp_min(0).sqrt()
    if tall:
        return orth(a @ side), s, side.T
    return side, s, orth(a.T @ side).T


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


def truncated_svd(a, rank):
    if rank == 0:
        m, n = a.shape
        return a.new_zeros(m, 0), a.new_zeros(0), a.new_zeros(0, n)
    p = min(a.shape)
    if sample_size(rank, p) * 4 <= p:
        return randomized_svd(a, rank)
    return exact_svd(a, rank)


def as_bytes(t, dtype):
    return t.detach().to("cpu").contiguous().numpy().astype(dtype, copy=False).tobytes()


def run(header, a):
    op = header["op"]
    if op == "spectrum":
        parts = [("s", "f64", as_bytes(spectrum(a), "<f8"))]
    elif op == "svd":
        rank = int(header["rank"])
        if rank < 0 or rank > min(a.shape):
            raise ValueError("rank {} is outside [0, {}]".format(rank, min(a.shape)))
        u, s, vt = truncated_svd(a, rank)
        parts = [("u", "f32", as_bytes(u, "<f4")), ("s", "f64", as_bytes(s, "<f8")), ("vt", "f32", as_bytes(vt, "<f4"))]
    else:
        raise ValueError("unknown op {!r}".format(op))
    payload = b"".join(p[2] for p in parts)
    meta = [[name, dtype, len(data)] for name, dtype, data in parts]
    return {"id": header["id"], "type": "result", "parts": meta, "bytes": len(payload)}, payload


def main():
    send({"type": "hello", "device": DESCRIPTION, "gpu": GPU, "torch": torch.__version__})
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
            results.put(run(header, a))
        except Exception as e:
            results.put(({"id": header["id"], "type": "error", "error": "{}: {}".format(type(e).__name__, e)},))
    results.put(None)
    w.join()


if __name__ == "__main__":
    main()
