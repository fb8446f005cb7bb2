"""GPU proof and benchmark for Reducible's torch engine. Needs Python + PyTorch only: Node,
the bundles and their runtime modules come in carry/ (made by pack.sh, see README.md).

usage: python3 run.py [--small] [--ratio R] [--embedded-timeout S]

Prints, in one run: (a) spectra of 4096², 11008×4096 and 8192² with the embedded engine and
the torch engine, their ratio and their agreement; (b) end-to-end
`node dist/cli.js compress --engine torch` of the generated ≥1.5 GB model versus the time to
just read the model and write as many bytes as the compressed output. --small divides every
dimension by 16 (runs on a CPU in well under a minute). Results also go to work*/results.json.
"""
import argparse
import json
import lzma
import os
import shutil
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CARRY = os.path.join(HERE, "carry")


def node_binary():
    node = os.path.join(CARRY, "node")
    if not os.path.exists(node):
        packed = os.path.join(CARRY, "node.xz")
        if not os.path.exists(packed):
            sys.exit("bench/gpu/carry/node.xz is missing: run bench/gpu/pack.sh on the build machine first")
        with lzma.open(packed) as src, open(node + ".tmp", "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 24)
        os.chmod(node + ".tmp", os.stat(node + ".tmp").st_mode | stat.S_IXUSR)
        os.replace(node + ".tmp", node)
    return node


def gpu_name():
    import torch
    if torch.cuda.is_available():
        return "CUDA · " + torch.cuda.get_device_name(0)
    return "no CUDA GPU (CPU · torch {})".format(torch.__version__)


def timed(cmd, timeout=None):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit("{} failed ({}):\n{}".format(" ".join(cmd[:3]), r.returncode, r.stderr.decode(errors="replace")))
    return elapsed, r.stdout.decode()


def spectrum(node, engine, path, m, n, work, timeout=None):
    out = os.path.join(work, "sigma-{}-{}x{}.f64".format(engine, m, n))
    cmd = [node, os.path.join(CARRY, "dist", "bench-spectra.js"), engine, path, str(m), str(n), out, sys.executable]
    try:
        _, stdout = timed(cmd, timeout)
    except subprocess.TimeoutExpired:
        return None, None
    import numpy as np
    return json.loads(stdout.strip().splitlines()[-1]), np.fromfile(out, dtype="<f8")


def read_write_seconds(src, dst, out_bytes):
    """Reads every byte of src and writes out_bytes bytes to dst: the I/O floor of a compression."""
    chunk = bytearray(64 << 20)
    t0 = time.perf_counter()
    with open(src, "rb", buffering=0) as f:
        while f.readinto(chunk):
            pass
    with open(dst, "wb", buffering=0) as f:
        left = out_bytes
        while left > 0:
            left -= f.write(memoryview(chunk)[:min(left, len(chunk))])
    elapsed = time.perf_counter() - t0
    os.remove(dst)
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--ratio", default="0.34", help="compressed/original parameters for the end-to-end run")
    ap.add_argument("--embedded-timeout", type=float, default=1800, help="seconds before an embedded spectrum is given up (reported as a bound)")
    args = ap.parse_args()
    node = node_binary()
    cli = os.path.join(CARRY, "dist", "cli.js")
    work = os.path.join(HERE, "work-small" if args.small else "work")
    model = os.path.join(work, "model.safetensors")
    if not os.path.exists(model):
        cmd = [sys.executable, os.path.join(HERE, "make_model.py"), work] + (["--small"] if args.small else [])
        subprocess.run(cmd, check=True)
    device = gpu_name()
    results = {"device": device, "small": args.small, "spectra": [], "endToEnd": None}

    print("device: {}".format(device))
    print("\n| shape | embedded (s) | torch (s) | speed-up | max |Δσ|/σ_max |")
    print("|---|---|---|---|---|")
    for name in sorted(os.listdir(os.path.join(work, "spectra"))):
        m, n = (int(x) for x in name[:-4].split("x"))
        path = os.path.join(work, "spectra", name)
        t_info, t_sigma = spectrum(node, "torch", path, m, n, work)
        e_info, e_sigma = spectrum(node, "embedded", path, m, n, work, args.embedded_timeout)
        row = {"shape": [m, n], "torch": t_info["seconds"], "torchDevice": t_info["device"]}
        if e_info is None:
            row["embedded"] = None
            print("| {}×{} | > {:.0f} | {:.3f} | > {:.0f}× | – |".format(m, n, args.embedded_timeout, t_info["seconds"], args.embedded_timeout / t_info["seconds"]))
        else:
            row["embedded"] = e_info["seconds"]
            row["maxRelDiff"] = float(abs(t_sigma - e_sigma).max() / e_sigma[0])
            print("| {}×{} | {:.3f} | {:.3f} | {:.1f}× | {:.1e} |".format(m, n, e_info["seconds"], t_info["seconds"], e_info["seconds"] / t_info["seconds"], row["maxRelDiff"]))
        results["spectra"].append(row)

    out = os.path.join(work, "model.reduced.safetensors")
    seconds, stdout = timed([node, cli, "compress", model, "--ratio", args.ratio, "--engine", "torch", "--python", sys.executable, "-o", out, "--force", "--json"])
    report = json.loads(stdout.strip().splitlines()[-1])
    baseline = read_write_seconds(model, os.path.join(work, "io-baseline.bin"), report["compressedBytes"])
    e2e = {"seconds": seconds, "readWriteSeconds": baseline, "ratio": seconds / baseline, "modelBytes": os.path.getsize(model),
           "compressedBytes": report["compressedBytes"], "engine": report.get("engine"), "layers": len(report["layers"])}
    results["endToEnd"] = e2e
    print("\nend to end: compress --engine torch --ratio {} of {:.2f} GB ({} layers factorised, engine {}): {:.1f} s; "
          "read + write the same bytes: {:.1f} s; ratio {:.2f}×".format(
              args.ratio, e2e["modelBytes"] / 1e9, e2e["layers"], e2e["engine"], seconds, baseline, e2e["ratio"]))
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
