#pragma once
// Attention softmax(q kᵀ / √d) v for CPU builds of LibTorch that have no fused kernel (1.13).
//
// ATen 1.13's bmm multiplies a batch of small per-head matrices one after the other in one
// thread, with a tensor dispatch per matrix (the bundled backbone: 256 products of 50×24 by 24×50
// per call, 4,096 per training step), after copying the head views of q, k and v; attention was
// a quarter of the bundled backbone's training step at a fifth of the machine's matmul speed.
// Here the images are split over ATen's threads and each head's products go straight to BLAS
// on the strided head views, with one softmax per slice of images whose scores stay in cache;
// the backward pass does the same. Built only with Debian's LibTorch (DLW_ATTENTION_BLAS: it
// calls the libblas.so.3 that LibTorch uses); elsewhere it is explicitAttention below.

#include <torch/torch.h>

namespace dlw {

// q, k, v: [B, H, N, hd] CPU tensors of one dtype, any strides. Returns [B, H, N, hd] (for
// float and double a view of a [B, N, H, hd] buffer, so going back to [B, N, H·hd] is free).
// Differentiable in q, k and v; same values as explicitAttention up to float rounding. Any
// thread; it uses ATen's intra-op threads (torch::set_num_threads).
torch::Tensor cpuAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

// The same attention written out: two matmuls and a softmax over [B, H, N, N] scores, any
// device and dtype (Vaswani et al. 2017, eq. 1). cpuAttention's fallback, and what
// compat::attention runs where no kernel is better (torch_compat.h).
torch::Tensor explicitAttention(const torch::Tensor& q,
                                const torch::Tensor& k,
                                const torch::Tensor& v);

}  // namespace dlw
