"""Hostile PyTorch zips and safetensors files (issue 20, items 2 and 8), written into argv[1].

PyTorch: deflate bombs. A real torch.save checkpoint of one 96x128 f32 Linear (48 KiB) is
re-packed with its storage (or its pickle) deflated, and the zip's sizes made to lie:
  stream_bomb.pt      the storage declares its true 49 152 bytes; the stream inflates to 1 GiB
  entry_bomb.pt       the storage entry declares 1 GiB (the stream does inflate to 1 GiB)
  pickle_bomb.pt      data.pkl declares its true size; its stream goes on into 1 GiB of zeros
  pickle_huge.pt      data.pkl declares 1 GiB
  stream_short.pt     the storage's stream ends before its declared size
Keras 3 .keras: deflate bombs in the archive (a config.json, then):
  keras_weights_bomb.keras    model.weights.h5 declares 1 GiB from ~1 MB deflated (over 100x)
  keras_stream_bomb.keras     model.weights.h5 declares 4 KiB; its stream inflates to 1 GiB
  keras_asset_bomb.keras      an asset declares 1 GiB (entries besides the weights are held in memory)
safetensors: what the format forbids.
  metadata_number / metadata_object / metadata_array / metadata_null_value .safetensors
  gap.safetensors, gap_start.safetensors, trailing.safetensors
  sharded_trailing/, sharded_metadata/   an index whose second shard has trailing bytes / a
                                         non-string __metadata__ value
valid.safetensors: a sound file of two layers; valid.pt: a sound checkpoint of four 256x256 Linear layers (for output-side faults: a wrong
-o ending, a full disk).
Every file is small (about 1 MB at most); nothing here inflates anything.
"""
import io, json, os, struct, sys, zipfile, zlib

import torch

OUT = sys.argv[1]
GiB = 1 << 30


def deflate_raw(parts):
    """Raw deflate (zip method 8) of the byte strings in `parts`, in order (a generator is fine)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    out = [c.compress(p) for p in parts]
    out.append(c.flush())
    return b"".join(out)


def zeros(n, chunk=16 << 20):
    while n > 0:
        yield bytes(min(chunk, n))
        n -= chunk


def write_zip(path, entries):
    """entries: (name, data as stored, method, declared uncompressed size). Sizes are written as given."""
    buf, central = io.BytesIO(), []
    for name, data, method, size in entries:
        offset = buf.tell()
        n = name.encode()
        crc = zlib.crc32(data) if method == 0 else 0
        buf.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size, len(n), 0) + n + data)
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data), size, len(n), 0, 0, 0, 0, 0, offset) + n)
    cd_at = buf.tell()
    for c in central:
        buf.write(c)
    buf.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), buf.tell() - cd_at, cd_at, 0))
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def checkpoint():
    """The entries of a torch.save checkpoint of one Linear weight, stored."""
    b = io.BytesIO()
    torch.manual_seed(0)
    torch.save({"fc.weight": torch.randn(96, 128)}, b)
    with zipfile.ZipFile(b) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def pytorch_cases(gib_of_zeros):
    base = checkpoint()
    storage = next(n for n, _ in base if n.endswith("/data/0"))
    pickle = next(n for n, _ in base if n.endswith("/data.pkl"))
    stored = {n: d for n, d in base}
    assert len(stored[storage]) == 96 * 128 * 4

    def repack(path, replace):
        write_zip(os.path.join(OUT, path), [replace.get(n, (n, d, 0, len(d))) for n, d in base])

    repack("stream_bomb.pt", {storage: (storage, gib_of_zeros, 8, len(stored[storage]))})
    repack("entry_bomb.pt", {storage: (storage, gib_of_zeros, 8, GiB)})
    pkl = stored[pickle]
    repack("pickle_bomb.pt", {pickle: (pickle, deflate_raw([pkl] + list(zeros(GiB))), 8, len(pkl))})
    repack("pickle_huge.pt", {pickle: (pickle, deflate_raw([pkl]), 8, GiB)})
    repack("stream_short.pt", {storage: (storage, deflate_raw([stored[storage][:1000]]), 8, len(stored[storage]))})


def keras_cases(gib_of_zeros):
    config = json.dumps({"class_name": "Sequential", "config": {"layers": []}}).encode()
    def archive(path, entries):
        write_zip(os.path.join(OUT, path), [("metadata.json", b"{}", 0, 2), ("config.json", config, 0, len(config))] + entries)
    archive("keras_weights_bomb.keras", [("model.weights.h5", gib_of_zeros, 8, GiB)])
    archive("keras_stream_bomb.keras", [("model.weights.h5", gib_of_zeros, 8, 4096)])
    archive("keras_asset_bomb.keras", [("model.weights.h5", b"\x89HDF", 0, 4), ("assets/vocabulary.txt", gib_of_zeros, 8, GiB)])


def safetensors(path, tensors, metadata=None, gap_after=None, start=0, trailing=b""):
    """tensors: (name, rows, cols) f32; `gap_after`: name after which 16 unowned bytes follow."""
    header, data, at = {}, bytearray(), start
    data += bytes(start)
    for i, (name, rows, cols) in enumerate(tensors):
        n = rows * cols * 4
        header[name] = {"dtype": "F32", "shape": [rows, cols], "data_offsets": [at, at + n]}
        data += struct.pack(f"<{rows * cols}f", *[((j * 7919 + i) % 101) / 101 - 0.5 for j in range(rows * cols)])
        at += n
        if name == gap_after:
            data += bytes(16)
            at += 16
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + bytes(data) + trailing)


def safetensors_cases():
    two = [("a.weight", 64, 48), ("b.weight", 32, 64)]
    p = lambda n: os.path.join(OUT, n)
    safetensors(p("valid.safetensors"), two, {"format": "pt"})
    safetensors(p("metadata_number.safetensors"), two, {"format": "pt", "epoch": 3})
    safetensors(p("metadata_object.safetensors"), two, {"format": "pt", "config": {"hidden": 64}})
    safetensors(p("metadata_array.safetensors"), two, ["pt"])
    safetensors(p("metadata_null_value.safetensors"), two, {"format": None})
    safetensors(p("gap.safetensors"), two, {"format": "pt"}, gap_after="a.weight")
    safetensors(p("gap_start.safetensors"), two, {"format": "pt"}, start=8)
    safetensors(p("trailing.safetensors"), two, {"format": "pt"}, trailing=b"\0" * 100)
    for case, second in [("trailing", {"trailing": b"x" * 24}), ("metadata", {"metadata": {"format": "pt", "step": 1000}})]:
        d = p(f"sharded_{case}")
        os.makedirs(d, exist_ok=True)
        files = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
        safetensors(os.path.join(d, files[0]), [two[0]], {"format": "pt"})
        safetensors(os.path.join(d, files[1]), [two[1]], **{"metadata": {"format": "pt"}, **second})
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": 64 * 48 * 4 + 32 * 64 * 4}, "weight_map": {"a.weight": files[0], "b.weight": files[1]}}, f)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    gib_of_zeros = deflate_raw(zeros(GiB))
    pytorch_cases(gib_of_zeros)
    keras_cases(gib_of_zeros)
    safetensors_cases()
    torch.manual_seed(1)
    torch.save({f"l{i}.weight": torch.randn(256, 256) for i in range(4)}, os.path.join(OUT, "valid.pt"))
