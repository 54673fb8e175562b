#!/usr/bin/python3
"""PyTorch-eager reference of one DualLoRA / sequential-LoRA training step (issue 6).

The same model as the C++ engine: a timm-layout ViT (fused qkv, pre-norm blocks, exact GELU,
class token), frozen; adapters on k and v of blocks depth/2 .. depth-1; a linear head. The step
is the engine's second task: for `duallora` the orthogonal adapter (A_O [r, d], B_O [d, r]) plus
the frozen residual piece of task 1 and the trainable one of task 2 (U fixed, V trained), with
Adam's update of A_O and B_O projected off the memory (DESIGN §3.2 step 3; the memory holds the
eigenvectors of the first batch's norm1-output covariance up to 95 % energy, as the engine's
first memory update picks them); for `seq-lora` one
LoRA pair per map. Weights are random: speed does not depend on their values.

Prints one JSON line: {"method", "backbone", "batch", "threads", "images_per_second", ...}.
Run with Debian's interpreter: /usr/bin/python3 bench/reference/train_step.py --help
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

SHAPES = {
    # img, patch, channels, width, depth, heads, mlp
    "bundled": (28, 4, 1, 96, 4, 4, 384),
    "vitb16": (224, 16, 3, 768, 12, 12, 3072),
}


ATTENTION = "auto"  # --attention


class Block(torch.nn.Module):
    def __init__(self, d, heads, mlp):
        super().__init__()
        self.heads = heads
        self.norm1 = torch.nn.LayerNorm(d, eps=1e-6)
        self.qkv = torch.nn.Linear(d, 3 * d)
        self.proj = torch.nn.Linear(d, d)
        self.norm2 = torch.nn.LayerNorm(d, eps=1e-6)
        self.fc1 = torch.nn.Linear(d, mlp)
        self.fc2 = torch.nn.Linear(mlp, d)
        self.adapter = None  # callable(map_name, x) -> delta or None

    def forward(self, x):
        b, n, d = x.shape
        h = self.norm1(x)
        qkv = self.qkv(h)  # [B, N, 3D]
        q, k, v = qkv.split(d, dim=-1)
        if self.adapter is not None:
            k = k + self.adapter("k", h)
            v = v + self.adapter("v", h)
        hd = d // self.heads
        q = q.view(b, n, self.heads, hd).transpose(1, 2)  # [B, H, N, hd]
        k = k.view(b, n, self.heads, hd).transpose(1, 2)
        v = v.view(b, n, self.heads, hd).transpose(1, 2)
        # As the engine's compat::attention: the fused kernel (PyTorch 2.x), but the explicit
        # formula for bf16 on the CPU, where it is faster; --attention forces one.
        fused = hasattr(F, "scaled_dot_product_attention") and ATTENTION != "math"
        if ATTENTION == "auto" and q.device.type == "cpu" and q.dtype == torch.bfloat16:
            fused = False
        if fused:
            o = F.scaled_dot_product_attention(q, k, v)
        else:
            o = ((q @ k.transpose(-2, -1)) * (hd ** -0.5)).softmax(-1) @ v
        o = o.transpose(1, 2).reshape(b, n, d)
        x = x + self.proj(o)
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViT(torch.nn.Module):
    def __init__(self, img, patch, chans, d, depth, heads, mlp):
        super().__init__()
        self.patch = torch.nn.Conv2d(chans, d, patch, patch)
        tokens = (img // patch) ** 2 + 1
        self.cls = torch.nn.Parameter(torch.zeros(1, 1, d))
        self.pos = torch.nn.Parameter(torch.randn(1, tokens, d) * 0.02)
        self.blocks = torch.nn.ModuleList(Block(d, heads, mlp) for _ in range(depth))
        self.norm = torch.nn.LayerNorm(d, eps=1e-6)

    def forward(self, images):
        x = self.patch(images).flatten(2).transpose(1, 2)  # [B, N, D]
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)[:, 0]


def orthonormal(rows, cols):
    return torch.linalg.qr(torch.randn(rows, cols))[0]


def memories(model, images, blocks, energy=0.95):
    """Per adapted block: the top eigenvectors of the norm1-output covariance (eq. 2) that hold
    `energy` of it (eq. 4, first task), as the engine's first memory update picks them."""
    seen = {}
    handles = [model.blocks[i].norm1.register_forward_hook(
        lambda _m, _inp, out, i=i: seen.__setitem__(i, out.detach().flatten(0, 1)))
        for i in blocks]
    with torch.no_grad():
        model(images)
    for h in handles:
        h.remove()
    out = {}
    for i in blocks:
        x = seen[i].double()
        values, vectors = torch.linalg.eigh(x.t() @ x / x.shape[0])
        values, vectors = values.flip(0), vectors.flip(1)
        k = int((values.cumsum(0) / values.sum() < energy).sum()) + 1
        out[i] = vectors[:, :k].float().contiguous()
    return out


def build(method, d, rank, blocks, model, memory, dev):
    """Adapter tensors per (block, map) and the hook that applies them."""
    trainable, state = [], {}

    def param(t):
        return torch.nn.Parameter(t.to(dev))

    for i in blocks:
        for m in ("k", "v"):
            s = {}
            if method == "duallora":
                s["a"] = param(orthonormal(d, rank).t().contiguous() * 0.577)
                s["b"] = param(torch.zeros(d, rank))
                s["u"] = torch.cat([orthonormal(d, rank), orthonormal(d, rank)], 1).to(dev)
                s["v_old"] = (torch.randn(d, rank) * 0.01).to(dev)  # task 1's piece, frozen
                s["v"] = param(torch.zeros(d, rank))  # task 2's piece
                s["memory"] = memory[i]  # M [d, k]
                trainable += [s["a"], s["b"], s["v"]]
            else:
                s["a"] = param(torch.randn(rank, d) / math.sqrt(d))
                s["b"] = param(torch.zeros(d, rank))
                trainable += [s["a"], s["b"]]
            state[(i, m)] = s

        def hook(name, x, i=i):
            s = state[(i, name)]
            out = (x @ s["a"].t()) @ s["b"].t()
            if "u" in s:
                out = out + (x @ s["u"]) @ torch.cat([s["v_old"], s["v"]], 1).t()
            return out

        model.blocks[i].adapter = hook
    return trainable, state


def project(state, before):
    """ΔA ← ΔA (I − MMᵀ); ΔB ← ΔB (I − QQᵀ), Q = orth(A_old M)."""
    with torch.no_grad():
        for key, s in state.items():
            if "memory" not in s:
                continue
            a_old, b_old = before[key]
            m = s["memory"]
            da = s["a"] - a_old
            s["a"].copy_(a_old + da - (da @ m) @ m.t())
            q = torch.linalg.qr(a_old @ m)[0]
            db = s["b"] - b_old
            s["b"].copy_(b_old + db - (db @ q) @ q.t())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", choices=["duallora", "seq-lora"], default="duallora")
    p.add_argument("--backbone", choices=sorted(SHAPES), default="bundled")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--precision", choices=["fp32", "tf32", "bf16"], default="fp32",
                   help="tf32: CUDA fp32 matmuls on TF32 cores; bf16: autocast")
    p.add_argument("--attention", choices=["auto", "sdpa", "math"], default="auto",
                   help="auto: the engine's choice (the explicit formula for bf16 on the CPU, "
                   "else F.scaled_dot_product_attention); sdpa or math force one")
    p.add_argument("--profile", metavar="FILE",
                   help="write a Chrome trace of the timed steps (bench/profile_ops.py)")
    args = p.parse_args()
    global ATTENTION
    ATTENTION = args.attention
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.set_float32_matmul_precision("high" if args.precision == "tf32" else "highest")
    dev = torch.device(args.device)
    torch.manual_seed(0)
    img, patch, chans, d, depth, heads, mlp = SHAPES[args.backbone]
    model = ViT(img, patch, chans, d, depth, heads, mlp)
    for prm in model.parameters():
        prm.requires_grad_(False)
    images = torch.rand(args.batch, chans, img, img)
    blocks = range(depth // 2, depth)
    memory = memories(model, images, blocks) if args.method == "duallora" else {}
    model.to(dev)
    memory = {i: m.to(dev) for i, m in memory.items()}
    trainable, state = build(args.method, d, args.rank, blocks, model, memory, dev)
    head = torch.nn.Linear(d, 2).to(dev)
    trainable += list(head.parameters())
    opt = torch.optim.Adam(trainable, lr=5e-4)
    images = images.to(dev)
    labels = torch.randint(0, 2, (args.batch,)).to(dev)
    autocast = args.precision == "bf16"

    def step():
        with torch.autocast(dev.type, torch.bfloat16, enabled=autocast):
            logits = head(model(images))
        loss = F.cross_entropy(logits.float(), labels)
        opt.zero_grad()
        loss.backward()
        before = {k: (s["a"].detach().clone(), s["b"].detach().clone())
                  for k, s in state.items() if "memory" in s}
        opt.step()
        project(state, before)
        return loss.item()

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(2):
        step()
    sync()
    times = []
    # The legacy autograd profiler, as dlw_bench_step --profile uses LibTorch's.
    with torch.autograd.profiler.profile(enabled=bool(args.profile)) as prof:
        for _ in range(args.steps):
            t0 = time.perf_counter()
            step()
            sync()
            times.append(time.perf_counter() - t0)
    if args.profile:
        prof.export_chrome_trace(args.profile)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({"implementation": "python-eager", "method": args.method,
                      "backbone": args.backbone, "batch": args.batch,
                      "device": str(dev), "precision": args.precision,
                      "threads": torch.get_num_threads(), "steps": args.steps,
                      "step_seconds_median": median,
                      "memory_size": {str(i): m.shape[1] for i, m in memory.items()},
                      "images_per_second": args.batch / median,
                      "attention": ATTENTION, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
