#!/usr/bin/env python3
"""Attention kernels under bf16 autocast on the CPU (issue 15): why compat::attention takes the
explicit formula for bf16 on the CPU.

    .venv-torch2/bin/python bench/reference/attention_kernels.py [--threads 2] [--repeats 10]

For the bundled backbone's shape ([64, 4, 50, 24]) and ViT-B/16's ([8, 12, 197, 64]): the
median time of forward + backward of F.scaled_dot_product_attention and of the explicit formula
softmax(q kᵀ / √d) v, both inside torch.autocast("cpu", torch.bfloat16) on strided head views as
the backbone makes them; and the largest and mean error of each against float64 on the same
bf16-rounded inputs (unit-variance entries).
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def explicit(q, k, v):
    scores = torch.matmul(q * q.shape[-1] ** -0.5, k.transpose(-2, -1))
    return torch.matmul(scores.softmax(-1), v)


def fused(q, k, v):
    return F.scaled_dot_product_attention(q, k, v)


def heads(qkv):
    return [qkv[:, :, i].transpose(1, 2) for i in range(3)]  # [B, H, N, hd], strided


def timing(kernel, shape, repeats):
    b, h, n, d = shape
    qkv = torch.randn(b, n, 3, h, d, requires_grad=True)

    def run():
        with torch.autocast("cpu", torch.bfloat16):
            out = kernel(*heads(qkv.to(torch.bfloat16)))
        out.float().sum().backward()

    for _ in range(3):
        run()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def errors(kernel, shape):
    b, h, n, d = shape
    qkv = torch.randn(b, n, 3, h, d).to(torch.bfloat16)
    exact = explicit(*heads(qkv.double()))
    with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
        out = kernel(*heads(qkv)).double()
    diff = (out - exact).abs()
    return diff.max().item(), diff.mean().item()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=10)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} threads, bf16 autocast on the CPU")
    print(f"{'shape':18s} {'kernel':9s} {'fwd+bwd ms':>10s} {'max error':>10s} {'mean error':>11s}")
    for name, shape in (("bundled", (64, 4, 50, 24)), ("vitb16", (8, 12, 197, 64))):
        for label, kernel in (("fused", fused), ("explicit", explicit)):
            ms = timing(kernel, shape, args.repeats)
            worst, mean = errors(kernel, shape)
            print(f"{name + ' ' + 'x'.join(map(str, shape)):18s} {label:9s} {ms:10.2f}"
                  f" {worst:10.4f} {mean:11.5f}")


if __name__ == "__main__":
    main()
