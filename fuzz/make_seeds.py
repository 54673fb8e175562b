#!/usr/bin/python3
"""Seed corpora of the fuzz targets (issue #14), from real files, each input small.

usage: make_seeds.py REPO_ROOT OUT_DIR [RUN_DIR]

Writes OUT_DIR/<target>/<name> for every target of fuzz/CMakeLists.txt. RUN_DIR is a run of
tests/fixtures/experiments/smoke.json (scripts/fuzz.sh makes one with the fuzz build's dlw): its
events, summary, experiment and first checkpoint become seeds of the run_events, checkpoint and
experiment targets. Only the Python standard library is used.
"""

import gzip
import json
import os
import struct
import sys
import zlib

SEP = b"\n=====\n"  # fuzz_support.h kPartSeparator
MAX_SEED = 64 * 1024


def write(out, target, name, data):
    folder = os.path.join(out, target)
    os.makedirs(folder, exist_ok=True)
    if len(data) <= MAX_SEED:
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, bytes)] -> a safetensors file."""
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def floats(n, start=0.0):
    return struct.pack("<%df" % n, *[start + 0.01 * i for i in range(n)])


def tiny_vit():
    """A valid 1-block ViT: width 4, 2 heads, 8x8 grey input, patch 4, mlp 8."""
    d, c, p, mlp, tokens = 4, 1, 4, 8, (8 // 4) ** 2 + 1
    t = [("cls_token", [1, 1, d]), ("pos_embed", [1, tokens, d]),
         ("patch_embed.proj.weight", [d, c, p, p]), ("patch_embed.proj.bias", [d])]
    for name, shape in [("norm1.weight", [d]), ("norm1.bias", [d]), ("attn.qkv.weight", [3 * d, d]),
                        ("attn.qkv.bias", [3 * d]), ("attn.proj.weight", [d, d]),
                        ("attn.proj.bias", [d]), ("norm2.weight", [d]), ("norm2.bias", [d]),
                        ("mlp.fc1.weight", [mlp, d]), ("mlp.fc1.bias", [mlp]),
                        ("mlp.fc2.weight", [d, mlp]), ("mlp.fc2.bias", [d])]:
        t.append(("blocks.0." + name, shape))
    t += [("norm.weight", [d]), ("norm.bias", [d])]
    out = []
    for name, shape in t:
        n = 1
        for s in shape:
            n *= s
        out.append((name, "F32", shape, floats(n)))
    return safetensors(out, {"num_heads": "2", "img_size": "8", "mean": "0.5", "std": "0.25"})


def safetensors_seeds(root, out):
    bundled = read(os.path.join(root, "resources/backbones/dlw-vit-tiny.safetensors"))
    length = struct.unpack("<Q", bundled[:8])[0]
    write(out, "safetensors", "bundled_header_only", bundled[: 8 + length])
    write(out, "safetensors", "bundled_cut_short", bundled[: min(len(bundled), 8 + length + 512)])
    write(out, "safetensors", "tiny_vit", tiny_vit())
    write(out, "safetensors", "dtypes", safetensors([
        ("f64", "F64", [2], struct.pack("<2d", 1.5, -2)), ("f32", "F32", [2, 2], floats(4)),
        ("f16", "F16", [3], b"\x00\x3c\x00\xc0\x00\x7c"), ("bf16", "BF16", [1], b"\x80\x3f"),
        ("i64", "I64", [1], struct.pack("<q", -7)), ("i32", "I32", [2], struct.pack("<2i", 1, 2)),
        ("i16", "I16", [1], b"\x01\x00"), ("i8", "I8", [1], b"\xff"), ("u8", "U8", [0], b""),
        ("b", "BOOL", [2], b"\x01\x00")], {"note": "seed"}))
    for name in ["tiny_gray_io", "tiny_gray"]:
        data = read(os.path.join(root, "tests/fixtures/vit_reference", name + ".safetensors"))
        write(out, "safetensors", name + "_head", data[: 8 + struct.unpack("<Q", data[:8])[0]])


def idx_seeds(out):
    folder = "/usr/share/datasets/fashion-mnist"
    if not os.path.isdir(folder):
        print("make_seeds: no " + folder + " (Debian dataset-fashion-mnist): idx seeds are synthetic")
        images = struct.pack(">IIII", 0x803, 2, 2, 2) + bytes(range(8))
        labels = struct.pack(">II", 0x801, 2) + b"\x00\x01"
    else:
        with gzip.open(os.path.join(folder, "t10k-images-idx3-ubyte.gz")) as f:
            raw = f.read(16 + 3 * 784)
        with gzip.open(os.path.join(folder, "t10k-labels-idx1-ubyte.gz")) as f:
            rawLabels = f.read(8 + 3)
        images = struct.pack(">IIII", 0x803, 3, 28, 28) + raw[16:]
        labels = struct.pack(">II", 0x801, 3) + rawLabels[8:]
    write(out, "idx", "three_records", images + SEP + labels)
    write(out, "idx", "three_records_gz", gzip.compress(images) + SEP + gzip.compress(labels))
    write(out, "idx", "truncated", images[:100] + SEP + labels)
    small = struct.pack(">IIII", 0x803, 1, 2, 3) + bytes(6)
    write(out, "idx", "one_2x3", small + SEP + struct.pack(">II", 0x801, 1) + b"\x09")


def cifar_seeds(out):
    def record(coarse, fine):
        return bytes([coarse, fine]) + bytes((i * 7 + fine) % 256 for i in range(3072))
    write(out, "cifar", "two_records", record(1, 5) + record(19, 99))
    write(out, "cifar", "bad_label", record(0, 150))
    write(out, "cifar", "truncated", record(2, 3)[:3000])


def experiment_seeds(root, out, run):
    smoke = read(os.path.join(root, "tests/fixtures/experiments/smoke.json"))
    write(out, "experiment", "smoke.json", smoke)
    write(out, "experiment", "preset.json", b'{"preset": "cifar100-10", "data": {"root": "/x"}}')
    write(out, "experiment", "sets", b'method.rank=8\ntrain.epochs=2\nmethod.name=inflora\n'
          b'memory={"eps_begin": 0.9}\nmethod.targets=["q","v"]\nname=x\nseed=18446744073709551615')
    if run:
        write(out, "experiment", "run_experiment.json", read(os.path.join(run, "experiment.json")))


def run_seeds(out, run):
    if not run:
        write(out, "run_events", "warning", b'{"v":1,"type":"warning","message":"m"}\n')
        return
    events = read(os.path.join(run, "events.jsonl")).splitlines(keepends=True)
    short = b"".join(events[:3] + [e for e in events if b'"evaluation"' in e][:1] + events[-2:])
    summary = read(os.path.join(run, "summary.json"))
    experiment = read(os.path.join(run, "experiment.json"))
    write(out, "run_events", "smoke_run", short + SEP + summary + SEP + experiment)
    write(out, "run_events", "events_only", b"".join(events[:8]))
    ckpt = os.path.join(run, "checkpoints")
    state = read(os.path.join(ckpt, "task-001.json"))
    tensors = read(os.path.join(ckpt, "task-001.safetensors"))
    write(out, "checkpoint", "smoke_task1", state + SEP + tensors)
    if os.path.exists(os.path.join(ckpt, "task-002.json")):
        write(out, "checkpoint", "smoke_task2", read(os.path.join(ckpt, "task-002.json")) + SEP +
              read(os.path.join(ckpt, "task-002.safetensors")))


def png(width, height, colour, depth=8, rows=None):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    line = bytes((i * 37) % 256 for i in range(width * channels * depth // 8))
    raw = rows if rows is not None else b"".join(b"\x00" + line for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) +
            chunk(b"IEND", b""))


def image_seeds(root, out):
    folder = os.path.join(root, "tests/fixtures/images")
    for name in sorted(os.listdir(folder)):
        write(out, "image", name, read(os.path.join(folder, name)))
    write(out, "image", "grey.png", png(5, 3, 0))
    write(out, "image", "rgba.png", png(4, 4, 6))
    write(out, "image", "grey16.png", png(3, 3, 0, depth=16))
    write(out, "image", "grey_alpha.png", png(2, 2, 4))
    write(out, "image", "tiny.pgm", b"P5\n3 2\n255\n" + bytes(range(6)))
    write(out, "image", "tiny.ppm", b"P6\n2 2\n255\n" + bytes(range(12)))
    bmp_pixels = bytes(range(2 * 2 * 3)) + b"\x00\x00"  # 2x2, 24-bit, rows padded to 4 bytes
    bmp_pixels = bmp_pixels[:6] + b"\x00\x00" + bmp_pixels[6:12] + b"\x00\x00"
    dib = struct.pack("<IiiHHIIiiII", 40, 2, 2, 1, 24, 0, len(bmp_pixels), 2835, 2835, 0, 0)
    write(out, "image", "tiny.bmp", b"BM" + struct.pack("<IHHI", 14 + 40 + len(bmp_pixels), 0, 0, 54)
          + dib + bmp_pixels)


def folder_seeds(out):
    write(out, "image_folder", "split", b"shirt/a.png\nshirt/b.png\nshoe/c.png\nshoe/d.PNG\n"
          b"shoe/sub/e.png\nshoe/broken.jpg\tnot an image\n.hidden/x.png\n")
    write(out, "image_folder", "train_test", b"train/a/1.png\ntrain/b/2.png\ntest/a/3.png\n"
          b"test/b/4.png\ntrain/b/5.bmp\tBM\n")
    write(out, "image_folder", "non_utf8", b"\xff\xfe/x.png\n\xc3\x28/y.png\nempty/\n")


def main():
    root, out = sys.argv[1], sys.argv[2]
    run = sys.argv[3] if len(sys.argv) > 3 and os.path.isdir(sys.argv[3]) else None
    safetensors_seeds(root, out)
    idx_seeds(out)
    cifar_seeds(out)
    experiment_seeds(root, out, run)
    run_seeds(out, run)
    image_seeds(root, out)
    folder_seeds(out)
    for target in sorted(os.listdir(out)):
        files = os.listdir(os.path.join(out, target))
        print("make_seeds: %-13s %d seeds" % (target, len(files)))


if __name__ == "__main__":
    main()
