#include "model/cpu_attention.h"

#include <algorithm>
#include <array>
#include <cmath>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#if DLW_ATTENTION_BLAS
// The Fortran BLAS that Debian's LibTorch itself calls (libblas.so.3: OpenBLAS through the
// alternatives system). Called inside ATen's OpenMP region, OpenBLAS runs single-threaded.
extern "C" {
void sgemm_(const char* transa,
            const char* transb,
            const int* m,
            const int* n,
            const int* k,
            const float* alpha,
            const float* a,
            const int* lda,
            const float* b,
            const int* ldb,
            const float* beta,
            float* c,
            const int* ldc);
void dgemm_(const char* transa,
            const char* transb,
            const int* m,
            const int* n,
            const int* k,
            const double* alpha,
            const double* a,
            const int* lda,
            const double* b,
            const int* ldb,
            const double* beta,
            double* c,
            const int* ldc);
}
#endif

namespace dlw {
torch::Tensor explicitAttention(const torch::Tensor& q,
                                const torch::Tensor& k,
                                const torch::Tensor& v) {
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    auto scores = torch::matmul(q * scale, k.transpose(-2, -1));  // [B, H, N, N]
    return torch::matmul(scores.softmax(-1), v);                  // [B, H, N, hd]
}

namespace {

#if DLW_ATTENTION_BLAS

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

void blasGemm(const char* ta,
              const char* tb,
              const int* mnk,
              const float* alpha,
              const float* a,
              const int* lda,
              const float* b,
              const int* ldb,
              float* c,
              const int* ldc) {
    const float zero = 0;
    sgemm_(ta, tb, &mnk[0], &mnk[1], &mnk[2], alpha, a, lda, b, ldb, &zero, c, ldc);
}

void blasGemm(const char* ta,
              const char* tb,
              const int* mnk,
              const double* alpha,
              const double* a,
              const int* lda,
              const double* b,
              const int* ldb,
              double* c,
              const int* ldc) {
    const double zero = 0;
    dgemm_(ta, tb, &mnk[0], &mnk[1], &mnk[2], alpha, a, lda, b, ldb, &zero, c, ldc);
}

// A [rows, cols] row-major matrix inside a tensor: its first element and row stride.
template <typename T>
struct Mat {
    const T* data;
    int64_t ld;
};

// Row-major C [m, n] = alpha · op(A) op(B), op(X) = Xᵀ when trans. BLAS is column-major, where a
// row-major matrix reads as its transpose, so it computes Cᵀ = op(B)ᵀ op(A)ᵀ.
template <typename T>
void gemm(bool transA,
          bool transB,
          int64_t m,
          int64_t n,
          int64_t k,
          T alpha,
          Mat<T> a,
          Mat<T> b,
          T* c,
          int64_t ldc) {
    const char ta = transA ? 'T' : 'N';
    const char tb = transB ? 'T' : 'N';
    const int nmk[3] = {static_cast<int>(n), static_cast<int>(m), static_cast<int>(k)};
    const int la = static_cast<int>(a.ld), lb = static_cast<int>(b.ld);
    const int lc = static_cast<int>(ldc);
    blasGemm(&tb, &ta, nmk, &alpha, b.data, &lb, a.data, &la, c, &lc);
}

// The [N, hd] matrix of image b, head h in a [B, H, N, hd] tensor whose rows are contiguous (a
// head view of the qkv projection is: its rows are 3·D apart).
template <typename T>
Mat<T> head(const torch::Tensor& t, int64_t b, int64_t h) {
    return {t.data_ptr<T>() + b * t.stride(0) + h * t.stride(1), t.stride(2)};
}

// Image b, head h of a [B, N, H, hd] buffer (row stride H·hd).
template <typename T>
T* bufferHead(const torch::Tensor& t, int64_t b, int64_t h) {
    return t.data_ptr<T>() + b * t.stride(0) + h * t.stride(2);
}

// Images per slice: enough that one slice's scores [n·H, N, N] stay near 256 KiB (L2-sized),
// at least one.
int64_t sliceImages(int64_t heads, int64_t tokens) {
    constexpr int64_t kScoresPerSlice = 64 * 1024;
    return std::max<int64_t>(1, kScoresPerSlice / (heads * tokens * tokens));
}

// Runs fn(first, count) over [0, batch) in slices, the slices spread over the ATen threads.
// Autograd state is per thread and the pool's threads have it on: the slices' ops go below it.
template <typename Fn>
void forEachSlice(int64_t batch, int64_t slice, const Fn& fn) {
    at::parallel_for(0, batch, /*grain_size=*/1, [&](int64_t begin, int64_t end) {
        const at::AutoDispatchBelowADInplaceOrView belowAutograd;
        for (int64_t b = begin; b < end; b += slice) {
            fn(b, std::min(slice, end - b));
        }
    });
}

// out [B, N, H, hd] = softmax(q kᵀ · scale) v; the probabilities go to probs [B, H, N, N] when
// it is defined (for the backward pass), else they live only in a slice-sized scratch.
template <typename T>
void forwardInto(const torch::Tensor& q,
                 const torch::Tensor& k,
                 const torch::Tensor& v,
                 const torch::Tensor& probs,
                 const torch::Tensor& out) {
    const int64_t heads = q.size(1), tokens = q.size(2), dim = q.size(3);
    const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(dim)));
    forEachSlice(q.size(0), sliceImages(heads, tokens), [&](int64_t first, int64_t n) {
        auto scores = torch::empty({n * heads, tokens, tokens}, q.options());  // [n·H, N, N]
        T* s = scores.data_ptr<T>();
        for (int64_t i = 0; i < n * heads; ++i) {  // S = scale · Q Kᵀ
            const int64_t b = first + i / heads, h = i % heads;
            gemm<T>(false, true, tokens, tokens, dim, scale, head<T>(q, b, h), head<T>(k, b, h),
                    s + i * tokens * tokens, tokens);
        }
        auto p = probs.defined() ? probs.narrow(0, first, n).view(scores.sizes())
                                 : torch::empty_like(scores);
        at::_softmax_out(p, scores, /*dim=*/-1, /*half_to_float=*/false);
        const T* pp = p.data_ptr<T>();
        for (int64_t i = 0; i < n * heads; ++i) {  // O = P V
            const int64_t b = first + i / heads, h = i % heads;
            gemm<T>(false, false, tokens, dim, tokens, T(1), {pp + i * tokens * tokens, tokens},
                    head<T>(v, b, h), bufferHead<T>(out, b, h), out.stride(1));
        }
    });
}

// dq, dk, dv [B, N, H, hd] from the output's gradient g [B, N, H, hd]:
//   dV = Pᵀ G, dP = G Vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = scale · dS K, dK = scale · dSᵀ Q.
template <typename T>
void backwardInto(const torch::Tensor& q,
                  const torch::Tensor& k,
                  const torch::Tensor& v,
                  const torch::Tensor& probs,
                  const torch::Tensor& g,
                  const std::array<torch::Tensor, 3>& grads) {
    const int64_t heads = q.size(1), tokens = q.size(2), dim = q.size(3);
    const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(dim)));
    // Plain references, not a structured binding: clang before 16 cannot capture those in the
    // lambda below (C++20 allows it, GCC already does).
    const torch::Tensor& dq = grads[0];
    const torch::Tensor& dk = grads[1];
    const torch::Tensor& dv = grads[2];
    const int64_t ld = dq.stride(1);
    forEachSlice(q.size(0), sliceImages(heads, tokens), [&](int64_t first, int64_t n) {
        auto p = probs.narrow(0, first, n).view({n * heads, tokens, tokens});
        auto dp = torch::empty_like(p);  // [n·H, N, N]
        const T* pp = p.data_ptr<T>();
        for (int64_t i = 0; i < n * heads; ++i) {
            const int64_t b = first + i / heads, h = i % heads;
            const Mat<T> gi{bufferHead<T>(g, b, h), g.stride(1)};
            const Mat<T> pi{pp + i * tokens * tokens, tokens};
            gemm<T>(true, false, tokens, dim, tokens, T(1), pi, gi, bufferHead<T>(dv, b, h), ld);
            gemm<T>(false, true, tokens, tokens, dim, T(1), gi, head<T>(v, b, h),
                    dp.data_ptr<T>() + i * tokens * tokens, tokens);
        }
        auto ds = at::_softmax_backward_data(dp, p, /*dim=*/-1, p.scalar_type());
        const T* dsp = ds.data_ptr<T>();
        for (int64_t i = 0; i < n * heads; ++i) {
            const int64_t b = first + i / heads, h = i % heads;
            const Mat<T> si{dsp + i * tokens * tokens, tokens};
            gemm<T>(false, false, tokens, dim, tokens, scale, si, head<T>(k, b, h),
                    bufferHead<T>(dq, b, h), ld);
            gemm<T>(true, false, tokens, dim, tokens, scale, si, head<T>(q, b, h),
                    bufferHead<T>(dk, b, h), ld);
        }
    });
}

// [B, N, H, hd] buffer for a [B, H, N, hd] result.
torch::Tensor headBuffer(const torch::Tensor& like) {
    return torch::empty({like.size(0), like.size(2), like.size(1), like.size(3)}, like.options());
}

torch::Tensor attentionForward(const torch::Tensor& q,
                               const torch::Tensor& k,
                               const torch::Tensor& v,
                               const torch::Tensor& probs) {
    auto out = headBuffer(q);
    AT_DISPATCH_FLOATING_TYPES(q.scalar_type(), "cpuAttention",
                               [&] { forwardInto<scalar_t>(q, k, v, probs, out); });
    return out;  // [B, N, H, hd]
}

struct CpuAttentionFunction : torch::autograd::Function<CpuAttentionFunction> {
    static torch::Tensor forward(AutogradContext* ctx,
                                 const torch::Tensor& q,
                                 const torch::Tensor& k,
                                 const torch::Tensor& v) {
        auto probs = torch::empty({q.size(0), q.size(1), q.size(2), q.size(2)}, q.options());
        auto out = attentionForward(q, k, v, probs);
        ctx->save_for_backward({q, k, v});
        ctx->saved_data["probs"] = probs;
        return out;  // [B, N, H, hd]
    }

    static variable_list backward(AutogradContext* ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor probs = ctx->saved_data["probs"].toTensor();
        const torch::Tensor g = grads[0].contiguous();  // [B, N, H, hd]
        const std::array<torch::Tensor, 3> out{headBuffer(saved[0]), headBuffer(saved[1]),
                                               headBuffer(saved[2])};
        AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "cpuAttentionBackward", [&] {
            backwardInto<scalar_t>(saved[0], saved[1], saved[2], probs, g, out);
        });
        return {out[0].transpose(1, 2), out[1].transpose(1, 2), out[2].transpose(1, 2)};
    }
};

// BLAS needs each head's rows contiguous and at least hd apart.
torch::Tensor blasLayout(const torch::Tensor& t) {
    return t.stride(3) == 1 && t.stride(2) >= t.size(3) ? t : t.contiguous();
}

#endif  // DLW_ATTENTION_BLAS

}  // namespace

torch::Tensor cpuAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
#if DLW_ATTENTION_BLAS
    const auto type = q.scalar_type();
    if ((type == torch::kFloat || type == torch::kDouble) && k.scalar_type() == type &&
        v.scalar_type() == type && q.is_cpu()) {
        const bool needsGrad = torch::GradMode::is_enabled() &&
                               (q.requires_grad() || k.requires_grad() || v.requires_grad());
        if (!needsGrad) {
            return attentionForward(blasLayout(q), blasLayout(k), blasLayout(v), torch::Tensor())
                .transpose(1, 2);
        }
        return CpuAttentionFunction::apply(blasLayout(q), blasLayout(k), blasLayout(v))
            .transpose(1, 2);  // [B, H, N, hd]
    }
#endif
    return explicitAttention(q, k, v);
}

}  // namespace dlw
