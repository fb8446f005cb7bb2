"""GPU proof and benchmark for Reducible's torch engine (issue 18, item 6). Needs Python +
PyTorch only: Node, the bundles and their runtime modules come in carry/ (made by pack.sh,
see README.md).

usage: python3 run.py [--small] [--ratio R] [--budget S] [--embedded-timeout S]

One command prints, step by step (most important first; results.json rewritten after each):
  1. `node dist/cli.js compress MODEL --engine torch` (whole process);
  2. reading the model and writing as many bytes as that output: the I/O floor;
  3. plain_torch.py, the same job in plain sequential PyTorch at the same ranks (whole process);
  4. `node dist/cli.js analyze MODEL --engine torch --json` (whole process);
  5. the spectrum of 4096² with the embedded and the torch engine;
  6. compress again with REDUCIBLE_TORCH_KEEP=0 (spectra keep no eigenvectors; the factors
     come from randomized SVDs): which default is faster on this device;
  7. the spectra of 11008×4096 and 8192².
then the ratios against the targets. Every step has a hard cap, and the whole run a budget
(--budget, default 420 s including generating the model): a step that would pass it is cut
short or skipped and reported so. --small divides every dimension by 16 and runs on a CPU in
about a minute. Results go to work*/results.json.
"""
import argparse
import json
import lzma
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CARRY = os.path.join(HERE, "carry")
START = time.perf_counter()

# Targets (issue 18, item 6).
TARGET_FLOOR = 1.3     # compress ≤ 1.3 × read + write of the same bytes
TARGET_PLAIN = 0.8     # compress ≤ 0.8 × the plain PyTorch script
TARGET_SPECTRUM = 30   # torch spectrum ≥ 30 × the embedded engine's at 4096²


def say(text=""):
    print(text, flush=True)


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


def device_name():
    import torch
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    what = "CUDA · " + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU (CPU)"
    return "{} · {} CPU cores · Python {} · torch {}".format(what, cpus, sys.version.split()[0], torch.__version__)


class Budget:
    def __init__(self, seconds):
        self.deadline = START + seconds

    def cap(self, step_cap):
        """Seconds a step may take: its own cap, or what the budget has left."""
        return min(step_cap, self.deadline - time.perf_counter())


def timed(cmd, timeout, env=None):
    """Runs cmd (its own process group: a timeout kills node and its workers together).
    Returns (seconds, stdout, error): error is None, "timed out after N s" or the failure."""
    if timeout <= 1:
        return None, "", "skipped: the run's budget is spent"
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                         env=dict(os.environ, **(env or {})))
    try:
        stdout, stderr = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return None, "", "timed out after {:.0f} s".format(timeout)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        tail = stderr.decode(errors="replace").strip().splitlines()[-5:]
        return elapsed, stdout.decode(), "exit {}: {}".format(p.returncode, " | ".join(tail))
    return elapsed, stdout.decode(), None


def last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


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


def warm(path):
    """Reads a file once so every timed step finds it in the page cache."""
    chunk = bytearray(64 << 20)
    with open(path, "rb", buffering=0) as f:
        while f.readinto(chunk):
            pass


def gb(n):
    return "{:.2f} GB".format(n / 1e9) if n >= 1e8 else "{:.1f} MB".format(n / 1e6)


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true", help="every dimension ÷16: a CPU smoke test of the same steps")
    ap.add_argument("--ratio", default="0.34", help="compressed/original parameters for the compress runs")
    ap.add_argument("--budget", type=float, default=420, help="seconds for the whole run; steps past it are cut or skipped")
    ap.add_argument("--embedded-timeout", type=float, default=60, help="seconds before an embedded spectrum is given up (reported as a bound)")
    args = ap.parse_args()
    budget = Budget(args.budget)
    node = node_binary()
    cli = os.path.join(CARRY, "dist", "cli.js")
    work = os.path.join(HERE, "work-small" if args.small else "work")
    model = os.path.join(work, "model.safetensors")
    results = {"device": device_name(), "small": args.small, "ratio": float(args.ratio), "steps": {}, "spectra": []}
    results_path = os.path.join(work, "results.json")

    def save():
        results["elapsed"] = time.perf_counter() - START
        with open(results_path, "w") as f:
            json.dump(results, f, indent=2)

    say("device: " + results["device"])
    if not os.path.exists(model):
        seconds, stdout, error = timed([sys.executable, os.path.join(HERE, "make_model.py"), work] + (["--small"] if args.small else []), budget.cap(240))
        if error:
            sys.exit("make_model.py: " + error)
        say("generated the model in {:.1f} s: {}".format(seconds, stdout.strip()))
    os.makedirs(work, exist_ok=True)
    warm(model)
    model_bytes = os.path.getsize(model)
    results["modelBytes"] = model_bytes
    say("model: {} ({}); ratio {}; budget {:.0f} s ({:.0f} s left)\n".format(
        model, gb(model_bytes), args.ratio, args.budget, budget.cap(1e9)))
    save()

    def step(key, label, cmd, cap, env=None, out=None):
        if out and os.path.exists(out):
            os.remove(out)
        seconds, stdout, error = timed(cmd, budget.cap(cap), env)
        row = {"seconds": seconds, "error": error}
        if error is None:
            try:
                row["output"] = last_json(stdout)
            except ValueError:
                row["error"] = "no JSON on stdout"
        results["steps"][key] = row
        save()
        if row["error"]:
            say("{:<50} FAILED ({})".format(label, row["error"]))
        return row

    def compress(key, label, env=None):
        out = os.path.join(work, "{}.reduced.safetensors".format(key))
        row = step(key, label, [node, cli, "compress", model, "--ratio", args.ratio, "--engine", "torch", "--python", sys.executable,
                                "-o", out, "--force", "--json"], 240, env, out)
        if not row["error"]:
            r = row["output"]
            row["summary"] = {"engine": r.get("engine"), "layers": len(r["layers"]), "compressedBytes": r["compressedBytes"],
                              "meanRelativeError": mean([l["relativeError"] for l in r["layers"]])}
            row.pop("output")
            save()
            say("{:<50} {:7.1f} s  ({} layers, {} written, mean rel. error {:.4f}, engine {})".format(
                label, row["seconds"], row["summary"]["layers"], gb(r["compressedBytes"]), row["summary"]["meanRelativeError"], r.get("engine")))
            with open(os.path.join(work, key + ".report.json"), "w") as f:
                json.dump(r, f)
        return row

    # 1. compress --engine torch, the default (spectra keep their eigenvectors for the factors).
    main_run = compress("compress", "compress --engine torch")
    compressed = main_run["summary"]["compressedBytes"] if not main_run["error"] else int(model_bytes * float(args.ratio))

    # 2. The I/O floor: read every byte of the model, write as many bytes as the output.
    floor = read_write_seconds(model, os.path.join(work, "io-floor.bin"), compressed)
    results["steps"]["readWrite"] = {"seconds": floor, "readBytes": model_bytes, "writtenBytes": compressed}
    save()
    say("{:<50} {:7.1f} s  ({} read, {} written, warm page cache)".format("read + write the same bytes", floor, gb(model_bytes), gb(compressed)))

    # 3. The plain PyTorch script at the same ranks.
    if not main_run["error"]:
        out = os.path.join(work, "plain.safetensors")
        row = step("plain", "plain PyTorch script", [sys.executable, os.path.join(HERE, "plain_torch.py"), model,
                                                     os.path.join(work, "compress.report.json"), out], 240, out=out)
        if not row["error"]:
            p = row["output"]
            say("{:<50} {:7.1f} s  (read {:.1f} s, svd_lowrank {:.1f} s, write {:.1f} s; {} layers, mean rel. error {:.4f}, {})".format(
                "plain PyTorch script (svd_lowrank, niter=2)", row["seconds"], p["read"], p["compute"], p["write"], p["layers"], p["meanRelativeError"], p["device"]))
            os.remove(out)
    else:
        say("plain PyTorch script: skipped (it takes its ranks from the compress report)")

    # 4. analyze --engine torch.
    row = step("analyze", "analyze --engine torch --json", [node, cli, "analyze", model, "--engine", "torch", "--python", sys.executable, "--json"], 180)
    if not row["error"]:
        row.pop("output")
        save()
        say("{:<50} {:7.1f} s".format("analyze --engine torch --json", row["seconds"]))

    # 5–7. Spectra (4096² first: it has a target) and compress with REDUCIBLE_TORCH_KEEP=0.
    shapes = sorted(os.listdir(os.path.join(work, "spectra")), key=lambda s: (int(s.split("x")[0]) * int(s[:-4].split("x")[1]), s))
    spectra_rows = []

    def spectra(names):
        for name in names:
            m, n = (int(x) for x in name[:-4].split("x"))
            path = os.path.join(work, "spectra", name)
            row = {"shape": [m, n]}
            sigma = {}
            for engine, cap in (("torch", 120), ("embedded", args.embedded_timeout)):
                out = os.path.join(work, "sigma-{}-{}x{}.f64".format(engine, m, n))
                seconds, stdout, error = timed([node, os.path.join(CARRY, "dist", "bench-spectra.js"), engine, path, str(m), str(n), out, sys.executable], budget.cap(cap))
                if error is None:
                    info = last_json(stdout)
                    row[engine] = info["seconds"]
                    row[engine + "Device"] = info["device"]
                    import numpy as np
                    sigma[engine] = np.fromfile(out, dtype="<f8")
                else:
                    row[engine] = None
                    row[engine + "Error"] = error
            if len(sigma) == 2:
                row["maxRelDiff"] = float(abs(sigma["torch"] - sigma["embedded"]).max() / sigma["embedded"][0])
            results["spectra"].append(row)
            spectra_rows.append(row)
            save()
            say(spectrum_line(row, args.embedded_timeout))

    say("\nspectra (engine start-up and a warm-up call excluded):")
    say(SPECTRA_HEAD)
    first = [s for s in shapes if s.startswith("{0}x{0}.".format(4096 // (16 if args.small else 1)))] or shapes[:1]
    spectra(first)
    say("")
    compress("compressKeep0", "compress --engine torch, REDUCIBLE_TORCH_KEEP=0", {"REDUCIBLE_TORCH_KEEP": "0"})
    say("\nspectra, continued:")
    say(SPECTRA_HEAD)
    spectra([s for s in shapes if s not in first])

    # Against the targets.
    steps = results["steps"]
    verdicts = []

    def verdict(label, value, target, at_most):
        if value is None:
            verdicts.append({"target": label, "value": None, "met": None})
            say("  {:<52} —  (not measured)".format(label))
            return
        met = value <= target if at_most else value >= target
        verdicts.append({"target": label, "value": value, "met": met})
        say("  {:<52} {:6.2f}×  {}".format(label, value, "met" if met else "MISSED"))

    ok = lambda key: steps.get(key) and not steps[key].get("error") and steps[key].get("seconds")
    say("\nagainst the targets ({}{}):".format(results["device"], ", --small: not the real targets' size" if args.small else ""))
    c = steps["compress"]["seconds"] if ok("compress") else None
    verdict("compress / (read + write)      (target ≤ {}×)".format(TARGET_FLOOR), c / floor if c else None, TARGET_FLOOR, True)
    verdict("compress / plain PyTorch       (target ≤ {}×)".format(TARGET_PLAIN), c / steps["plain"]["seconds"] if c and ok("plain") else None, TARGET_PLAIN, True)
    side = 4096 // (16 if args.small else 1)
    square = next((r for r in spectra_rows if r["shape"][0] == r["shape"][1] == side), None)
    speedup = square["embedded"] / square["torch"] if square and square.get("embedded") and square.get("torch") else None
    verdict("spectrum {}², embedded / torch (target ≥ {}×)".format(side, TARGET_SPECTRUM), speedup, TARGET_SPECTRUM, False)
    if ok("compress") and ok("compressKeep0"):
        k0 = steps["compressKeep0"]["seconds"]
        say("  keeping eigenvectors (default) {:.1f} s vs REDUCIBLE_TORCH_KEEP=0 {:.1f} s: {} is faster here".format(
            c, k0, "keeping" if c <= k0 else "KEEP=0"))
    results["targets"] = verdicts
    save()
    say("\ntotal {:.0f} s; results in {}".format(time.perf_counter() - START, results_path))


SPECTRA_HEAD = "| shape | embedded (s) | torch (s) | speed-up | max |Δσ|/σ_max |\n|---|---|---|---|---|"


def spectrum_line(row, embedded_cap):
    m, n = row["shape"]
    t, e = row.get("torch"), row.get("embedded")
    if t is None:
        return "| {}×{} | {} | failed: {} | – | – |".format(m, n, "{:.3f}".format(e) if e else "–", row.get("torchError"))
    if e is None:
        err = row.get("embeddedError", "")
        if err.startswith("timed out"):
            bound = float(err.split()[3])
            return "| {}×{} | > {:.0f} | {:.3f} | > {:.0f}× | – |".format(m, n, bound, t, bound / t)
        return "| {}×{} | failed: {} | {:.3f} | – | – |".format(m, n, err, t)
    return "| {}×{} | {:.3f} | {:.3f} | {:.1f}× | {:.1e} |".format(m, n, e, t, e / t, row["maxRelDiff"])


if __name__ == "__main__":
    main()
