#!/usr/bin/env python3
"""timm itself as the judge of the C++ backbone loader (#15).

Runs in the project's virtual environment (.venv-torch2, made by
scripts/build-torch2.sh; timm, safetensors and torch from
scripts/torch2-requirements.txt). For each standard ViT size it

  1. builds the timm model with random weights and no download
     (timm.create_model(name, pretrained=False, depth=2)): the full width,
     heads, patch size and grid of the named model, two blocks deep to keep
     the files small;
  2. re-randomises every parameter from the seed (weights N(0, 1/sqrt(fan_in)),
     biases N(0, 0.1), LayerNorm weights 1 + N(0, 0.1), tokens and position
     embedding N(0, 0.5)) so that a misplaced bias or norm cannot hide behind
     timm's zero/one initialisation;
  3. writes NAME.safetensors with safetensors' own writer from the model's
     state_dict, exactly as a hub file looks: timm's tensor names and the
     metadata {"format": "pt"} only (no num_heads, no img_size: the loader must
     infer them as timm defines them);
  4. writes NAME_io.safetensors: `inputs` [n, 3, S, S] (random, as a model sees
     them after normalisation) and `feature` [n, D], timm's own pooled
     pre-logits features model.forward_head(model.forward_features(x),
     pre_logits=True), computed in float64 from the float32 weights and
     rounded to float32, and `logits` [n, 1000] the same way (for the models that
     have a head).

It also writes, for the models whose extra tokens or layers the loader does not
implement, their weights only (UNSUPPORTED_NAME.safetensors): the test requires
each to be refused with a message naming what is unsupported.

Usage: make_timm_reference.py OUT_DIR [--seed S] [--inputs N]
Writes OUT_DIR/manifest.json last: {"models": [...], "unsupported": {...}, "shapes": {...}}
(SHAPES_ONLY: more sizes' tensor shapes, for architecture inference alone).
"""

import argparse
import json
import math
import os
import sys
import tempfile

import safetensors.torch
import timm
import torch

# The standard ViT sizes: (timm name, width, heads, patch, image size) as timm defines them.
MODELS = [
    "vit_tiny_patch16_224",
    "vit_small_patch16_224",
    "vit_base_patch16_224",
    "vit_base_patch32_224",
    "vit_large_patch16_224",
    "vit_huge_patch14_224",
    "vit_medium_patch16_gap_256",  # LayerScale; no class token: average after the final norm
]

# More sizes, compared by architecture inference alone (their tensor shapes, made on the meta
# device: no memory, no weights): width, heads, patch, grid and class token as timm builds them.
SHAPES_ONLY = [
    "vit_small_patch8_224",
    "vit_small_patch32_224",
    "vit_base_patch8_224",
    "vit_base_patch16_384",
    "vit_large_patch32_384",
    "vit_giant_patch14_224",
    "vit_gigantic_patch14_224",
    "vit_large_patch14_clip_224",  # refused: norm_pre
    "vit_so400m_patch14_siglip_224",  # refused: attn_pool
]

# Models timm adds tokens or layers to, with what the loader's refusal must name.
UNSUPPORTED = {
    "vit_small_patch14_reg4_dinov2": (dict(img_size=224), "reg_token"),
    "deit_tiny_distilled_patch16_224": (dict(), "dist_token"),
}


def rerandomise(model, generator):
    norms = {f"{m_name}.weight" for m_name, m in model.named_modules()
             if isinstance(m, torch.nn.LayerNorm)}
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=generator)
            if name in norms:
                p.copy_(1 + 0.1 * noise)
            elif name.endswith("bias"):
                p.copy_(0.1 * noise)
            elif name.endswith("gamma"):  # LayerScale
                p.copy_(0.5 + 0.1 * noise)
            elif p.dim() >= 2 and not name.endswith(("_token", "pos_embed")):
                p.copy_(noise / math.sqrt(math.prod(p.shape[1:])))
            else:
                p.copy_(0.5 * noise)


def save_atomically(tensors, path, metadata):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    os.close(fd)
    os.chmod(tmp, 0o644)
    safetensors.torch.save_file(tensors, tmp, metadata=metadata)
    os.replace(tmp, path)


def hub_state(model):
    return {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--inputs", type=int, default=2)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    manifest = {"timm": timm.__version__, "torch": torch.__version__, "models": [],
                "unsupported": {}}
    for index, name in enumerate(MODELS):
        generator = torch.Generator().manual_seed(args.seed + index)
        model = timm.create_model(name, pretrained=False, depth=2).eval()
        rerandomise(model, generator)
        state = hub_state(model)
        save_atomically(state, os.path.join(args.out, name + ".safetensors"), {"format": "pt"})
        size = model.patch_embed.img_size
        x = torch.rand((args.inputs, 3, *size), generator=generator) * 4 - 2
        with torch.no_grad():
            model64 = model.double()
            tokens = model64.forward_features(x.double())
            feature = model64.forward_head(tokens, pre_logits=True)
            logits = model64.forward_head(tokens) if model.num_classes > 0 else None
            model32 = model.float()
            error32 = (model32.forward_head(model32.forward_features(x), pre_logits=True)
                       .double() - feature).abs().max().item()
        io = {"inputs": x, "feature": feature.float().contiguous()}
        if logits is not None:  # vit_huge_patch14_224 comes without a head
            io["logits"] = logits.float().contiguous()
        save_atomically(io,
                        os.path.join(args.out, name + "_io.safetensors"), {"format": "pt"})
        manifest["models"].append({
            "name": name, "width": model.embed_dim, "heads": model.blocks[0].attn.num_heads,
            "patch": model.patch_embed.patch_size[0], "img_size": size[0], "depth": 2,
            "class_token": model.cls_token is not None,
            "parameters": sum(p.numel() for p in state.values()),
            "float32_error_of_timm": error32})
        print(f"{name}: width {model.embed_dim}, heads {model.blocks[0].attn.num_heads}, "
              f"timm's own float32 error {error32:.2e}", flush=True)
    for name, (kwargs, what) in UNSUPPORTED.items():
        generator = torch.Generator().manual_seed(args.seed)
        model = timm.create_model(name, pretrained=False, depth=2, **kwargs).eval()
        rerandomise(model, generator)
        stem = f"unsupported_{what}"
        save_atomically(hub_state(model), os.path.join(args.out, stem + ".safetensors"),
                        {"format": "pt"})
        manifest["unsupported"][stem] = {"model": name, "options": kwargs, "names": what}
    manifest["shapes"] = {}
    for name in SHAPES_ONLY:
        with torch.device("meta"):
            model = timm.create_model(name, pretrained=False, depth=1)
        manifest["shapes"][name] = {
            "tensors": {k: list(v.shape) for k, v in model.state_dict().items()},
            "width": model.embed_dim, "heads": model.blocks[0].attn.num_heads,
            "patch": model.patch_embed.patch_size[0], "img_size": model.patch_embed.img_size[0],
            "class_token": model.cls_token is not None, "depth": 1}
    with open(os.path.join(args.out, ".manifest.tmp"), "w") as f:
        json.dump(manifest, f, indent=2)
    os.replace(os.path.join(args.out, ".manifest.tmp"), os.path.join(args.out, "manifest.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
