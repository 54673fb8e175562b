#pragma once
// The one place where LibTorch 1.13 (Debian) and 2.x (CUDA PyTorch wheels) differ for us.

#include "model/cpu_attention.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#define DLW_TORCH_2 (TORCH_VERSION_MAJOR >= 2)
// 2.4 made autocast's switches per device type (set_autocast_enabled(DeviceType, bool)).
#define DLW_TORCH_AUTOCAST_BY_DEVICE \
    (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4))

// c10d's Gloo process group (#18): every LibTorch whose c10d has it (USE_C10D_GLOO, defined by
// Debian's 1.13 and by the 2.x wheels' torch_cpu target), with Debian's Gloo headers
// (libgloo-dev; scripts/carry-deps.sh carries them to the GPU machine), which ProcessGroupGloo.hpp
// includes. Debian's Gloo (2022) is older than the one inside a 2.x wheel; that is safe because
// ProcessGroupGloo holds every Gloo object behind a pointer (its size and layout do not depend on
// Gloo's headers) and dlw calls only functions compiled into libtorch_cpu (Options::create,
// create*Device, the constructor, the virtual collectives).
#if defined(USE_C10D_GLOO) && __has_include(<gloo/context.h>)
#define DLW_C10D_GLOO 1
#else
#define DLW_C10D_GLOO 0
#endif
// torchrun of PyTorch 2.x serves the rendezvous store itself (TORCHELASTIC_USE_AGENT_STORE=True)
// with a TCPStore whose wire format LibTorch 1.13's client cannot read (its first reply fails
// with "Invalid string size"); a 1.13 build has rank 0 serve a store of its own on
// MASTER_PORT + 1 instead (util/collective.cpp).
#define DLW_READS_AGENT_STORE DLW_TORCH_2
// c10d's NCCL process group (#18): CMake defines DLW_C10D_NCCL=1 for a CUDA LibTorch 2.x with
// the NCCL and CUDA headers of its NVIDIA wheels (util/collective_nccl.cpp).
#ifndef DLW_C10D_NCCL
#define DLW_C10D_NCCL 0
#endif
#if DLW_C10D_GLOO || DLW_C10D_NCCL
namespace c10d {
class Backend;
class ProcessGroup;
}  // namespace c10d
namespace dlw::compat {
// The class c10d's process groups derive from, whose virtual collectives dlw calls:
// c10d::ProcessGroup in 1.13; 2.0 split it into ProcessGroup (a front) and c10d::Backend.
#if DLW_TORCH_2
using C10dBackend = c10d::Backend;
#else
using C10dBackend = c10d::ProcessGroup;
#endif
}  // namespace dlw::compat
#endif

namespace dlw::compat {

// Attention softmax(q kᵀ / √d) v (Vaswani et al. 2017, eq. 1) over [B, H, N, hd] tensors.
// LibTorch 2.x has a fused kernel (flash / memory-efficient on CUDA, a blocked kernel on the
// CPU); 1.13 has none, so on the CPU it gets ours (model/cpu_attention.h) and elsewhere the
// explicit formula. bfloat16 on the CPU (bf16 autocast) takes the explicit formula in both:
// 2.15's fused CPU kernel in bf16 took 6.2x (bundled, 64 images) and 2.4x (ViT-B/16, 8 images)
// as long, forward and backward; its error was a quarter to a third of the explicit formula's
// (bench/reference/attention_kernels.py, bench/README.md, #15). The softmax keeps float
// accumulation inside; the scores are rounded to bf16, as in any bf16 matmul.
inline torch::Tensor attention(const torch::Tensor& q,
                               const torch::Tensor& k,
                               const torch::Tensor& v) {
    if (q.device().is_cpu() && q.scalar_type() == at::kBFloat16) {
        return explicitAttention(q, k, v);
    }
#if DLW_TORCH_2
    return at::scaled_dot_product_attention(q, k, v);
#else
    if (q.device().is_cpu()) {
        return cpuAttention(q, k, v);
    }
    return explicitAttention(q, k, v);
#endif
}

// Which kernel attention() runs, for logs and benchmarks.
inline const char* attentionKernel() {
#if DLW_TORCH_2
    return "at::scaled_dot_product_attention (fused); the explicit formula for bf16 on the CPU";
#else
    return "dlw cpuAttention on the CPU (the explicit formula for bf16), the explicit formula "
           "elsewhere";
#endif
}

// bf16 autocast on `device` for the guard's lifetime (matmuls and attention in bf16, reductions
// and losses in fp32), as Python's `with torch.autocast(device, torch.bfloat16)`. Disabled = a
// no-op. One thread: autocast state is thread-local.
class AutocastScope {
public:
    AutocastScope(torch::Device device, bool enabled) : device_(device), enabled_(enabled) {
        if (!enabled_) {
            return;
        }
#if DLW_TORCH_AUTOCAST_BY_DEVICE
        previous_ = at::autocast::is_autocast_enabled(device_.type());
        at::autocast::set_autocast_dtype(device_.type(), at::kBFloat16);
        at::autocast::set_autocast_enabled(device_.type(), true);
#else
        if (device_.is_cuda()) {
            previous_ = at::autocast::is_enabled();
            at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
            at::autocast::set_enabled(true);
        } else {
            previous_ = at::autocast::is_cpu_enabled();
            at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
            at::autocast::set_cpu_enabled(true);
        }
#endif
        at::autocast::increment_nesting();
    }
    ~AutocastScope() {
        if (!enabled_) {
            return;
        }
        if (at::autocast::decrement_nesting() == 0) {
            at::autocast::clear_cache();  // the bf16 copies of the weights made in this scope
        }
#if DLW_TORCH_AUTOCAST_BY_DEVICE
        at::autocast::set_autocast_enabled(device_.type(), previous_);
#else
        if (device_.is_cuda()) {
            at::autocast::set_enabled(previous_);
        } else {
            at::autocast::set_cpu_enabled(previous_);
        }
#endif
    }
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

private:
    torch::Device device_;
    bool enabled_;
    bool previous_ = false;
};

// fp32 matmuls on CUDA through TF32 tensor cores ("high") or in full fp32 ("highest").
inline void allowTf32(bool allow) {
    at::globalContext().setFloat32MatmulPrecision(allow ? "high" : "highest");
}

}  // namespace dlw::compat
