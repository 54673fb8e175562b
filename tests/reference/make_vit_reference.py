#!/usr/bin/python3
"""Independent ViT reference for the C++ backbone (DESIGN.md section 3.1).

The forward pass is torchvision's VisionTransformer (torchvision 0.14), not a
reimplementation of ours, so a mistake in the q/k/v row order, the head split,
the patch order or the position embedding that the C++ code and a home-made
python model might share cannot pass both.

For one configuration this script
  1. builds torchvision.models.vision_transformer.VisionTransformer in eval
     mode and re-randomises every parameter with non-trivial values (seeded),
     replacing conv_proj when in_chans != 3;
  2. maps torchvision's parameter names to timm's (cls_token, pos_embed,
     patch_embed.proj, blocks.{i}.norm1 / attn.qkv / attn.proj / norm2 /
     mlp.fc1 / mlp.fc2, norm, head), checking that every torchvision tensor is
     mapped exactly once;
  3. writes <prefix>.safetensors (F32, with __metadata__ num_heads, img_size,
     patch_size, in_chans, source) by hand: no safetensors or timm package;
  4. runs torchvision's model on n random inputs in [0, 1] and writes
     <prefix>_io.safetensors (F32) with the inputs, the class-token feature
     after the final norm, the logits and, captured by hooks on torchvision's
     modules, every block's input residual stream and its ln_1 / ln_2 outputs;
  5. cross-checks the name mapping: reads the written weights back and
     recomputes the forward pass timm-style (qkv reshape(B,N,3,H,hd)
     .permute(2,0,3,1,4), scaled softmax, proj, exact GELU, LayerNorm eps
     1e-6, pre-norm, class token after the final norm) and compares it with
     torchvision.

Reference outputs are computed by torchvision in float64 from the exact
float32 weights and inputs that are written, then rounded to float32, so the
stored values carry no float32 accumulation noise of their own.  The float32
torchvision forward is also run and its distance from the float64 one is
printed: that is the size of error a correct float32 implementation shows.

Run it with Debian's /usr/bin/python3 (torch 1.13, torchvision 0.14).
"""

import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.vision_transformer import VisionTransformer


# --------------------------------------------------------------------------
# safetensors, by hand
# --------------------------------------------------------------------------

def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, np.ndarray float32), written in that order."""
    header = {}
    offset = 0
    arrays = []
    for name, arr in tensors:
        if name in header:
            raise ValueError("duplicate tensor name " + name)
        a = np.ascontiguousarray(arr, dtype="<f4")
        nbytes = a.size * 4
        header[name] = {"dtype": "F32", "shape": [int(s) for s in a.shape],
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
        arrays.append(a)
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("__metadata__ must map str to str")
        header["__metadata__"] = dict(metadata)
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * ((8 - len(hbytes) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for a in arrays:
            f.write(a.tobytes(order="C"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_safetensors(path):
    """Returns (dict name -> np.ndarray float32, metadata dict), checking layout."""
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack("<Q", data[:8])
    assert (8 + hlen) % 8 == 0, "header not padded to 8"
    header = json.loads(data[8:8 + hlen].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    body = data[8 + hlen:]
    out = {}
    end = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        assert info["dtype"] == "F32", name
        b, e = info["data_offsets"]
        assert b == end, "gap or overlap before " + name
        n = int(np.prod(info["shape"])) if info["shape"] else 1
        assert e - b == 4 * n, name
        out[name] = np.frombuffer(body[b:e], dtype="<f4").reshape(info["shape"]).copy()
        end = e
    assert end == len(body), "trailing bytes after data"
    return out, meta


# --------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------

def build_model(a):
    torch.manual_seed(a.seed)
    model = VisionTransformer(image_size=a.img_size, patch_size=a.patch_size,
                              num_layers=a.depth, num_heads=a.heads,
                              hidden_dim=a.width, mlp_dim=a.mlp_dim,
                              num_classes=a.num_classes)
    if a.in_chans != 3:
        model.conv_proj = nn.Conv2d(a.in_chans, a.width, kernel_size=a.patch_size,
                                    stride=a.patch_size)
    model.eval()

    # torchvision's LayerNorm must be eps 1e-6, like timm's ViT.
    n_ln = 0
    for name, m in model.named_modules():
        if isinstance(m, nn.LayerNorm):
            assert m.eps == 1e-6, (name, m.eps)
            n_ln += 1
        if isinstance(m, nn.GELU):
            assert m.approximate == "none", (name, m.approximate)
        if isinstance(m, nn.Dropout):
            assert m.p == 0.0 and not m.training, name
    assert n_ln == 2 * a.depth + 1

    # Re-randomise every parameter so that each one matters.
    g = torch.Generator().manual_seed(a.seed)

    def normal(shape, std, mean=0.0):
        return torch.randn(shape, generator=g) * std + mean

    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "encoder.ln.weight":
                p.copy_(normal(p.shape, 0.1, 1.0))
            elif name.endswith(".bias") or name.endswith("_bias"):
                p.copy_(normal(p.shape, 0.1))
            elif name == "class_token":
                p.copy_(normal(p.shape, 0.5))
            elif name == "encoder.pos_embedding":
                p.copy_(normal(p.shape, 0.5))
            elif p.dim() >= 2:
                fan_in = int(np.prod(p.shape[1:]))
                # 1.5/sqrt(fan_in): activations stay O(1) at any width while
                # attention is far from uniform.
                p.copy_(normal(p.shape, 1.5 / math.sqrt(fan_in)))
            else:
                raise AssertionError("unhandled parameter " + name)
    return model, g


def map_to_timm(model, depth):
    """torchvision state_dict -> ordered list of (timm name, tensor)."""
    sd = model.state_dict()
    pairs = [("cls_token", "class_token"),
             ("pos_embed", "encoder.pos_embedding"),
             ("patch_embed.proj.weight", "conv_proj.weight"),
             ("patch_embed.proj.bias", "conv_proj.bias")]
    for i in range(depth):
        tv = "encoder.layers.encoder_layer_%d." % i
        tm = "blocks.%d." % i
        pairs += [
            (tm + "norm1.weight", tv + "ln_1.weight"),
            (tm + "norm1.bias", tv + "ln_1.bias"),
            # nn.MultiheadAttention.in_proj_weight is [W_q; W_k; W_v], and
            # head h is rows h*hd..(h+1)*hd of each: timm's qkv layout.
            (tm + "attn.qkv.weight", tv + "self_attention.in_proj_weight"),
            (tm + "attn.qkv.bias", tv + "self_attention.in_proj_bias"),
            (tm + "attn.proj.weight", tv + "self_attention.out_proj.weight"),
            (tm + "attn.proj.bias", tv + "self_attention.out_proj.bias"),
            (tm + "norm2.weight", tv + "ln_2.weight"),
            (tm + "norm2.bias", tv + "ln_2.bias"),
            (tm + "mlp.fc1.weight", tv + "mlp.0.weight"),
            (tm + "mlp.fc1.bias", tv + "mlp.0.bias"),
            (tm + "mlp.fc2.weight", tv + "mlp.3.weight"),
            (tm + "mlp.fc2.bias", tv + "mlp.3.bias"),
        ]
    pairs += [("norm.weight", "encoder.ln.weight"),
              ("norm.bias", "encoder.ln.bias"),
              ("head.weight", "heads.head.weight"),
              ("head.bias", "heads.head.bias")]

    used = [tv for _, tv in pairs]
    assert len(set(used)) == len(used), "a torchvision tensor is mapped twice"
    assert set(used) == set(sd.keys()), (
        "unmapped: %s; missing: %s" % (sorted(set(sd) - set(used)), sorted(set(used) - set(sd))))
    assert len(set(tm for tm, _ in pairs)) == len(pairs)
    # The modules behind the keys are what we think they are.
    for i in range(depth):
        blk = model.encoder.layers[i]
        mha = blk.self_attention
        assert mha._qkv_same_embed_dim and mha.batch_first
        assert isinstance(blk.mlp[0], nn.Linear) and isinstance(blk.mlp[1], nn.GELU)
        assert isinstance(blk.mlp[3], nn.Linear)
    return [(tm, sd[tv].detach().cpu().float().numpy()) for tm, tv in pairs]


# --------------------------------------------------------------------------
# torchvision forward with hooks
# --------------------------------------------------------------------------

def torchvision_forward(model, x, depth):
    caps = {}
    handles = []
    for i in range(depth):
        blk = model.encoder.layers[i]

        def pre(mod, inp, i=i):
            caps["block_input.%d" % i] = inp[0].detach().clone()

        def h1(mod, inp, out, i=i):
            caps["norm1_out.%d" % i] = out.detach().clone()

        def h2(mod, inp, out, i=i):
            caps["norm2_out.%d" % i] = out.detach().clone()

        handles.append(blk.register_forward_pre_hook(pre))
        handles.append(blk.ln_1.register_forward_hook(h1))
        handles.append(blk.ln_2.register_forward_hook(h2))

    def fin(mod, inp):
        caps["final_norm_in"] = inp[0].detach().clone()

    handles.append(model.encoder.ln.register_forward_pre_hook(fin))
    try:
        with torch.no_grad():
            # The class-token feature, exactly as VisionTransformer.forward does it.
            t = model._process_input(x)
            t = torch.cat([model.class_token.expand(t.shape[0], -1, -1), t], dim=1)
            feat = model.encoder(t)[:, 0]
            logits_from_feat = model.heads(feat)
            n_caps = len(caps)
            caps.clear()
            logits = model(x)  # the module's own forward, hooks fire again
            assert len(caps) == n_caps
    finally:
        for h in handles:
            h.remove()
    d = (logits - logits_from_feat).abs().max().item()
    assert d == 0.0, "model(x) differs from the manual head path by %g" % d
    return feat, logits, caps


# --------------------------------------------------------------------------
# independent timm-style recomputation from the mapped weights
# --------------------------------------------------------------------------

def timm_forward(W, x, heads, patch, depth):
    """W: timm-named float64 tensors.  Returns (feature, logits, caps)."""
    caps = {}

    def ln(t, pre):
        return F.layer_norm(t, (t.shape[-1],), W[pre + ".weight"], W[pre + ".bias"], eps=1e-6)

    def lin(t, pre):
        return t @ W[pre + ".weight"].t() + W[pre + ".bias"]

    B = x.shape[0]
    t = F.conv2d(x, W["patch_embed.proj.weight"], W["patch_embed.proj.bias"], stride=patch)
    t = t.flatten(2).transpose(1, 2)                       # timm PatchEmbed: [B, N, D]
    t = torch.cat([W["cls_token"].expand(B, -1, -1), t], dim=1)
    t = t + W["pos_embed"]
    for i in range(depth):
        p = "blocks.%d." % i
        caps["block_input.%d" % i] = t
        h = ln(t, p + "norm1")
        caps["norm1_out.%d" % i] = h
        Bn, N, C = h.shape
        hd = C // heads
        qkv = lin(h, p + "attn.qkv").reshape(Bn, N, 3, heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                   # [B, H, N, hd]
        att = (q * hd ** -0.5) @ k.transpose(-2, -1)
        att = att.softmax(dim=-1)
        o = (att @ v).transpose(1, 2).reshape(Bn, N, C)
        t = t + lin(o, p + "attn.proj")
        h = ln(t, p + "norm2")
        caps["norm2_out.%d" % i] = h
        h = lin(F.gelu(lin(h, p + "mlp.fc1")), p + "mlp.fc2")  # exact (erf) GELU
        t = t + h
    caps["final_norm_in"] = t
    t = ln(t, "norm")
    feat = t[:, 0]
    logits = lin(feat, "head")
    return feat, logits, caps


def natural(name):
    return [int(p) if p.isdigit() else p for p in name.split(".")]


def maxabs(a, b):
    return float((a.double() - b.double()).abs().max())


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--img-size", type=int, required=True)
    ap.add_argument("--patch-size", type=int, required=True)
    ap.add_argument("--width", type=int, required=True)
    ap.add_argument("--depth", type=int, required=True)
    ap.add_argument("--heads", type=int, required=True)
    ap.add_argument("--mlp-dim", type=int, required=True)
    ap.add_argument("--in-chans", type=int, default=3)
    ap.add_argument("--num-classes", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=2, help="number of inputs")
    ap.add_argument("--out", required=True,
                    help="output prefix: writes PREFIX.safetensors and PREFIX_io.safetensors")
    a = ap.parse_args()
    assert a.img_size % a.patch_size == 0 and a.width % a.heads == 0 and a.num_classes > 0

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    print("torch %s, torchvision %s" % (torch.__version__, torchvision.__version__))

    model, g = build_model(a)
    named = map_to_timm(model, a.depth)
    n_params = sum(arr.size for _, arr in named)
    n_tokens = (a.img_size // a.patch_size) ** 2 + 1

    meta = {"num_heads": str(a.heads), "img_size": str(a.img_size),
            "patch_size": str(a.patch_size), "in_chans": str(a.in_chans),
            "source": "torchvision VisionTransformer, random weights, seed %d" % a.seed}
    out_dir = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(out_dir, exist_ok=True)
    model_path = a.out + ".safetensors"
    io_path = a.out + "_io.safetensors"
    write_safetensors(model_path, named, meta)

    # Read the weights back: round trip must be bit-exact, and everything
    # downstream uses the file's contents.
    W32, meta_back = read_safetensors(model_path)
    assert meta_back == meta
    assert list(W32) == [n for n, _ in named]
    for n, arr in named:
        assert W32[n].shape == arr.shape and np.array_equal(W32[n], arr), n

    x = torch.rand(a.n, a.in_chans, a.img_size, a.img_size, generator=g, dtype=torch.float32)

    # torchvision, float32 and float64 (same float32 weights, cast up).
    feat32, logits32, caps32 = torchvision_forward(model, x, a.depth)
    model64 = model.double()
    feat, logits, caps = torchvision_forward(model64, x.double(), a.depth)

    # Independent timm-style recomputation from the file, float64.
    W64 = {k: torch.from_numpy(v).double() for k, v in W32.items()}
    tfeat, tlogits, tcaps = timm_forward(W64, x.double(), a.heads, a.patch_size, a.depth)

    print("config: img %d patch %d in_chans %d width %d depth %d heads %d mlp %d classes %d seed %d n %d"
          % (a.img_size, a.patch_size, a.in_chans, a.width, a.depth, a.heads, a.mlp_dim,
             a.num_classes, a.seed, a.n))
    print("parameters: %d (%d tensors), tokens %d" % (n_params, len(named), n_tokens))
    print("magnitudes: |feature|max %.4g  |logits|max %.4g  logits std %.4g"
          % (feat.abs().max(), logits.abs().max(), logits.std()))
    for i in range(a.depth):
        print("  block_input.%d |max| %.4g  std %.4g" % (i, caps["block_input.%d" % i].abs().max(),
                                                       caps["block_input.%d" % i].std()))

    worst_map = 0.0
    print("timm-style recomputation (float64) vs torchvision (float64):")
    for name, a_, b_ in ([("feature", tfeat, feat), ("logits", tlogits, logits)]
                         + [(k, tcaps[k], caps[k]) for k in sorted(caps, key=natural)]):
        d = maxabs(a_, b_)
        worst_map = max(worst_map, d)
        print("  %-16s max|diff| %.3g" % (name, d))
    worst32 = 0.0
    print("torchvision float32 vs float64 (the float32 noise floor):")
    for name, a_, b_ in ([("feature", feat32, feat), ("logits", logits32, logits)]
                         + [(k, caps32[k], caps[k]) for k in sorted(caps, key=natural)]):
        d = maxabs(a_, b_)
        worst32 = max(worst32, d)
        print("  %-16s max|diff| %.3g" % (name, d))
    # timm-style float32 recomputation too, to show a correct float32
    # implementation lands within 1e-5 of torchvision's float32 forward.
    W32t = {k: torch.from_numpy(v) for k, v in W32.items()}
    f32feat, f32logits, _ = timm_forward(W32t, x, a.heads, a.patch_size, a.depth)
    d_f32 = max(maxabs(f32feat, feat32), maxabs(f32logits, logits32))
    print("timm-style float32 vs torchvision float32 (feature, logits): max|diff| %.3g" % d_f32)

    assert worst_map < 1e-9, "name mapping / layout mismatch: %g" % worst_map

    # Sensitivity: the layout mistakes this reference exists to catch must
    # move the outputs far beyond float32 noise.
    print("sensitivity (float64 timm-style with a deliberate layout mistake vs reference):")
    D, H = a.width, a.heads
    hd = D // H
    mistakes = {}

    def qkv_rows(perm):
        def f(W):
            W = dict(W)
            for i in range(a.depth):
                for s in ("weight", "bias"):
                    k = "blocks.%d.attn.qkv.%s" % (i, s)
                    W[k] = W[k][perm]
            return W
        return f

    idx = torch.arange(3 * D)
    # rows read as [H, 3, hd] instead of [3, H, hd]
    mistakes["qkv split as (H,3,hd)"] = qkv_rows(idx.reshape(H, 3, hd).permute(1, 0, 2).reshape(-1))
    # k and v swapped
    mistakes["k,v swapped"] = qkv_rows(torch.cat([idx[:D], idx[2 * D:], idx[D:2 * D]]))
    if H > 1:
        # head dim split as [hd, H] instead of [H, hd]
        mistakes["heads split as (hd,H)"] = qkv_rows(
            idx.reshape(3, H, hd).permute(0, 2, 1).reshape(-1))

    def patches_transposed(W):
        W = dict(W)
        w = W["patch_embed.proj.weight"]
        W["patch_embed.proj.weight"] = w.transpose(2, 3).contiguous()
        return W

    mistakes["patch kernel transposed"] = patches_transposed

    def pos_no_cls(W):
        W = dict(W)
        pe = W["pos_embed"]
        W["pos_embed"] = torch.cat([pe[:, 1:], pe[:, :1]], dim=1)
        return W

    mistakes["pos_embed shifted"] = pos_no_cls
    for name, f in mistakes.items():
        mf, ml, _ = timm_forward(f(W64), x.double(), a.heads, a.patch_size, a.depth)
        d = max(maxabs(mf, feat), maxabs(ml, logits))
        print("  %-24s max|diff| %.3g" % (name, d))
        assert d > 1e-2, "reference is blind to: " + name
    assert d_f32 < 1e-5, "float32 timm-style recomputation off by %g" % d_f32

    io = [("inputs", x.numpy()),
          ("feature", feat.float().numpy()),
          ("logits", logits.float().numpy())]
    for i in range(a.depth):
        io.append(("block_input.%d" % i, caps["block_input.%d" % i].float().numpy()))
        io.append(("norm1_out.%d" % i, caps["norm1_out.%d" % i].float().numpy()))
        io.append(("norm2_out.%d" % i, caps["norm2_out.%d" % i].float().numpy()))
    io.append(("final_norm_in", caps["final_norm_in"].float().numpy()))
    io_meta = dict(meta)
    io_meta.update({"depth": str(a.depth), "width": str(a.width), "mlp_dim": str(a.mlp_dim),
                    "num_classes": str(a.num_classes), "n": str(a.n),
                    "compute": "torchvision %s float64 forward from the float32 weights and inputs, "
                               "rounded to float32" % torchvision.__version__,
                    "float32_noise": "%.3g" % worst32})
    write_safetensors(io_path, io, io_meta)
    io_back, _ = read_safetensors(io_path)
    for n, arr in io:
        assert np.array_equal(io_back[n], arr.astype(np.float32)), n

    for p in (model_path, io_path):
        print("wrote %s (%d bytes)" % (p, os.path.getsize(p)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
