#pragma once
// The one place where LibTorch 1.13 (Debian) and 2.x (CUDA PyTorch wheels) differ for us.

#include <torch/torch.h>
#include <torch/version.h>

#define DLW_TORCH_2 (TORCH_VERSION_MAJOR >= 2)

namespace dlw::compat {

// Attention softmax(q kᵀ / √d) v over [B, H, N, hd] tensors. LibTorch 2.x has a fused kernel
// (flash / memory-efficient on CUDA, a blocked kernel on CPU); 1.13 has none.
inline torch::Tensor attention(const torch::Tensor& q,
                               const torch::Tensor& k,
                               const torch::Tensor& v) {
#if DLW_TORCH_2
    return at::scaled_dot_product_attention(q, k, v);
#else
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    auto scores = torch::matmul(q * scale, k.transpose(-2, -1));  // [B, H, N, N]
    return torch::matmul(scores.softmax(-1), v);                  // [B, H, N, hd]
#endif
}

}  // namespace dlw::compat
