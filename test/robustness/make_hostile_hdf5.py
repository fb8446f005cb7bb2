"""Writes hostile Keras HDF5 files (issue 20): each is refused in one line, reads nothing outside
its folder and inflates nothing.

usage: /usr/bin/python3 make_hostile_hdf5.py FIXTURES OUTDIR

FIXTURES is a folder made by test/fixtures/make_keras.py (mlp.h5, mlp.keras); each hostile file
is one of them with the first Dense layer's kernel (64×48, `dense`) replaced. OUTDIR gets
`models/` (the hostile files) and `outside/` (what they point at, outside the model folder):

  extlink.h5, extlink.keras   the kernel is an HDF5 external link to outside/secret.h5:/kernel
  extlink-passwd.h5           an external link to /etc/passwd:/x (not HDF5: still never opened)
  vds.h5, vds.keras           the kernel is a virtual dataset mapping outside/secret.h5:/kernel
  external.h5, external.keras the kernel's bytes live in outside/raw.bin (external storage)
  bomb.h5, bomb.keras         a 16384×16384 Dense whose float32 kernel (1 GiB) is gzip-filtered
                              zeros, ~1 MB on disk; the config agrees with the shape
  padbomb.h5                  bomb.h5 beside 24 MB of random bytes (an unread dataset), so the
                              file is large enough for 1 GiB to pass a whole-file inflation bound
  fill.h5                     the same kernel with no chunk ever written (1 GiB of fill value)
  shape.h5, shape.keras       the kernel is stored 63×47 where the config says 64×48
  string.h5, string.keras     the kernel is a 64×48 dataset of strings

and `legit/gzip.h5`, not hostile: `dense` as a 2100 → 2100 Dense, its 18 MB kernel random and
gzip-filtered (more than one of the reader's inflation slabs), with `legit/gzip.json` holding
the kernel's singular values by LAPACK, which reading it must reproduce.
"""
import json, os, shutil, sys, zipfile, zlib
import h5py
import numpy as np

src, out = sys.argv[1], os.path.abspath(sys.argv[2])
models, outside = f"{out}/models", f"{out}/outside"
os.makedirs(models, exist_ok=True)
os.makedirs(outside, exist_ok=True)

SECRET = np.arange(64 * 48, dtype=np.float32).reshape(64, 48)
with h5py.File(f"{outside}/secret.h5", "w") as f:
    f["kernel"] = SECRET
with open(f"{outside}/raw.bin", "wb") as f:
    f.write(SECRET.tobytes())

LEGACY_KERNEL = "model_weights/dense/dense/kernel:0"
V3_KERNEL = "layers/dense/vars/0"


def legacy(name, replace):
    path = f"{models}/{name}.h5"
    shutil.copy(f"{src}/mlp.h5", path)
    with h5py.File(path, "a") as f:
        del f[LEGACY_KERNEL]
        replace(f, LEGACY_KERNEL)


def keras3(name, replace, config=None):
    """mlp.keras with its weights file's kernel replaced (and its config.json, if given)."""
    tmp = f"{out}/{name}.weights.h5"
    with zipfile.ZipFile(f"{src}/mlp.keras") as z:
        with open(tmp, "wb") as f:
            f.write(z.read("model.weights.h5"))
        entries = {n: z.read(n) for n in z.namelist()}
    with h5py.File(tmp, "a") as f:
        del f[V3_KERNEL]
        replace(f, V3_KERNEL)
    with open(tmp, "rb") as f:
        entries["model.weights.h5"] = f.read()
    os.remove(tmp)
    if config is not None:
        entries["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(f"{models}/{name}.keras", "w") as z:
        for n, data in entries.items():
            z.writestr(n, data)


def extlink(target, obj):
    def replace(f, at):
        f[at] = h5py.ExternalLink(target, obj)
    return replace


def vds(f, at):
    layout = h5py.VirtualLayout(shape=(64, 48), dtype="f4")
    layout[:] = h5py.VirtualSource(f"{outside}/secret.h5", "kernel", shape=(64, 48))
    f.create_virtual_dataset(at, layout)


def external(f, at):
    f.create_dataset(at, shape=(64, 48), dtype="f4", external=[(f"{outside}/raw.bin", 0, 64 * 48 * 4)])


BOMB = 16384
CHUNK = 1024


def bomb(f, at):
    """1 GiB of float32 zeros in 4 MiB gzip chunks, each written precompressed (about 4 KB)."""
    ds = f.create_dataset(at, shape=(BOMB, BOMB), dtype="f4", chunks=(CHUNK, CHUNK), compression="gzip", compression_opts=9)
    chunk = zlib.compress(bytes(CHUNK * CHUNK * 4), 9)
    for i in range(0, BOMB, CHUNK):
        for j in range(0, BOMB, CHUNK):
            ds.id.write_direct_chunk((i, j), chunk)


def fill(f, at):
    f.create_dataset(at, shape=(BOMB, BOMB), dtype="f4", chunks=(CHUNK, CHUNK))


def shape(f, at):
    f[at] = SECRET[:63, :47]


def strings(f, at):
    f.create_dataset(at, data=np.full((64, 48), b"0.5", dtype=object), dtype=h5py.string_dtype())


def bomb_config(config, units=BOMB):
    """The mlp config with `dense` as a 64 → `units` Dense, so the kernel's shape agrees with it."""
    text = json.dumps(config).replace("[null, 64]", f"[null, {units}]").replace("[None, 64]", f"[None, {units}]")
    config = json.loads(text)

    def visit(x):
        if isinstance(x, dict):
            if x.get("class_name") == "Dense" and x.get("config", {}).get("name") == "dense":
                x["config"]["units"] = units
            if x.get("class_name") == "Dense" and x.get("config", {}).get("name") == "dense_1" and "build_config" in x:
                x["build_config"]["input_shape"] = [None, units]
            for v in x.values():
                visit(v)
        elif isinstance(x, list):
            for v in x:
                visit(v)
    visit(config)
    return config


def bomb_neighbours(f, bias, next_kernel, units=BOMB):
    """The bomb layer's bias and the next layer's kernel, reshaped to agree with bomb_config."""
    del f[bias]
    f[bias] = np.zeros(units, np.float32)
    del f[next_kernel]
    f.create_dataset(next_kernel, shape=(units, 32), dtype="f4", chunks=(min(units, CHUNK), 32), compression="gzip")


def legacy_bomb(name, replace, units=BOMB, folder=models):
    legacy(name, replace)
    path = f"{models}/{name}.h5"
    with h5py.File(path, "a") as f:
        f.attrs["model_config"] = json.dumps(bomb_config(json.loads(f.attrs["model_config"]), units))
        bomb_neighbours(f, "model_weights/dense/dense/bias:0", "model_weights/dense_1/dense_1/kernel:0", units)
    if folder != models:
        shutil.move(path, f"{folder}/{name}.h5")


def v3_bomb(f, at):
    bomb(f, at)
    bomb_neighbours(f, "layers/dense/vars/1", "layers/dense_1/vars/0")


legacy("extlink", extlink(f"{outside}/secret.h5", "/kernel"))
keras3("extlink", extlink(f"{outside}/secret.h5", "/kernel"))
legacy("extlink-passwd", extlink("/etc/passwd", "/x"))
legacy("vds", vds)
keras3("vds", vds)
legacy("external", external)
keras3("external", external)
legacy_bomb("bomb", bomb)
legacy_bomb("fill", fill)
legacy_bomb("padbomb", bomb)
with h5py.File(f"{models}/padbomb.h5", "a") as f:
    f["padding"] = np.random.default_rng(0).integers(0, 256, 24 << 20, dtype=np.uint8)
with zipfile.ZipFile(f"{src}/mlp.keras") as z:
    v3_config = json.loads(z.read("config.json"))
keras3("bomb", v3_bomb, bomb_config(v3_config))
legacy("shape", shape)
keras3("shape", shape)
legacy("string", strings)
keras3("string", strings)

WIDE = 2100
KERNEL = np.random.default_rng(1).standard_normal((WIDE, WIDE), dtype=np.float32)
os.makedirs(f"{out}/legit", exist_ok=True)
legacy_bomb("gzip", lambda f, at: f.create_dataset(at, data=KERNEL, chunks=(8, WIDE), compression="gzip"), WIDE, f"{out}/legit")
with open(f"{out}/legit/gzip.json", "w") as f:
    json.dump(np.linalg.svd(KERNEL.astype(np.float64), compute_uv=False).tolist(), f)
