#include "model/cpu_attention.h"

#include "torch_compat.h"

#include <cmath>
#include <iostream>

#include <gtest/gtest.h>

namespace dlw {
namespace {

torch::Tensor unfusedAttention(const torch::Tensor& q,
                               const torch::Tensor& k,
                               const torch::Tensor& v) {
    const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
    return torch::matmul(torch::softmax(torch::matmul(q, k.transpose(-2, -1)) * scale, -1), v);
}

// q, k, v as the backbone makes them: head views of one [B, N, 3·H·hd] projection, not
// contiguous, with gradients.
std::vector<torch::Tensor> headViews(int64_t batch, int64_t heads, int64_t tokens, int64_t dim) {
    auto qkv = torch::randn({batch, tokens, 3, heads, dim}, torch::kFloat64).requires_grad_();
    std::vector<torch::Tensor> out;
    for (int64_t i = 0; i < 3; ++i) {
        out.push_back(qkv.select(2, i).transpose(1, 2));  // [B, H, N, hd]
    }
    return out;
}

void expectMatchesUnfused(int64_t batch, int64_t heads, int64_t tokens, int64_t dim) {
    torch::manual_seed(3);
    auto ours = headViews(batch, heads, tokens, dim);
    std::vector<torch::Tensor> ref;
    for (const auto& t : ours) {
        ref.push_back(t.detach().clone().requires_grad_());
    }
    auto out = cpuAttention(ours[0], ours[1], ours[2]);
    auto expected = unfusedAttention(ref[0], ref[1], ref[2]);
    ASSERT_EQ(out.sizes(), expected.sizes());
    EXPECT_TRUE(torch::allclose(out, expected, 1e-10, 1e-12));
    const auto upstream = torch::randn_like(expected);
    auto grads = torch::autograd::grad({out}, {ours[0], ours[1], ours[2]}, {upstream});
    auto refGrads = torch::autograd::grad({expected}, {ref[0], ref[1], ref[2]}, {upstream});
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_TRUE(torch::allclose(grads[i], refGrads[i], 1e-10, 1e-12)) << "input " << i;
        if (tokens > 1) {  // with one token softmax is 1 whatever q and k are
            EXPECT_GT(grads[i].abs().max().item<double>(), 1e-3) << "input " << i;
        }
    }
    torch::NoGradGuard noGrad;  // the inference path keeps no probabilities: same values
    EXPECT_TRUE(torch::allclose(cpuAttention(ours[0], ours[1], ours[2]), expected, 1e-10, 1e-12));
}

TEST(CpuAttention, MatchesTheUnfusedFormulaAndItsGradients) {
    torch::set_num_threads(2);
    expectMatchesUnfused(/*batch=*/5, /*heads=*/3, /*tokens=*/7,
                         /*dim=*/4);  // one slice per thread
    expectMatchesUnfused(/*batch=*/3, /*heads=*/4, /*tokens=*/130, /*dim=*/8);  // one image a slice
    expectMatchesUnfused(/*batch=*/1, /*heads=*/2, /*tokens=*/1, /*dim=*/3);    // a lone token
}

// The attention the backbone uses (compat::attention: LibTorch 2.x's fused
// scaled_dot_product_attention; 1.13's cpuAttention on the CPU) against the explicit formula in
// float32 at a ViT-B/16 head's shape, values and gradients, to 1e-5 (#15).
void expectBackboneAttentionMatches(const torch::Device& device) {
    torch::manual_seed(15);
    const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
    auto qkv = torch::randn({2, 197, 3, 4, 64}, options).requires_grad_();
    std::vector<torch::Tensor> views;
    for (int64_t i = 0; i < 3; ++i) {
        views.push_back(qkv.select(2, i).transpose(1, 2));  // [B, H, N, hd], strided
    }
    const auto fused = compat::attention(views[0], views[1], views[2]);
    const auto explicitOut = unfusedAttention(views[0], views[1], views[2]);
    EXPECT_LT((fused - explicitOut).abs().max().item<double>(), 1e-5);
    const auto upstream = torch::randn_like(explicitOut);
    const auto gFused = torch::autograd::grad({fused}, {qkv}, {upstream})[0];
    const auto gExplicit = torch::autograd::grad({explicitOut}, {qkv}, {upstream})[0];
    EXPECT_LT((gFused - gExplicit).abs().max().item<double>(), 1e-5);
    EXPECT_GT(gExplicit.abs().max().item<double>(), 1e-2);
    torch::NoGradGuard noGrad;  // prediction's path
    EXPECT_LT(
        (compat::attention(views[0], views[1], views[2]) - explicitOut).abs().max().item<double>(),
        1e-5);
}

TEST(BackboneAttention, MatchesTheExplicitFormulaInFloat32OnTheCpu) {
    std::cout << "attention kernel: " << compat::attentionKernel() << "\n";
    expectBackboneAttentionMatches(torch::kCPU);
}

TEST(BackboneAttention, MatchesTheExplicitFormulaInFloat32OnCuda) {
    if (!torch::cuda::is_available()) {
        GTEST_SKIP() << "no CUDA device: runs where LibTorch sees a GPU";
    }
    expectBackboneAttentionMatches(torch::Device(torch::kCUDA, 0));
}

// bf16 on the CPU (bf16 autocast) takes the explicit formula (compat::attention): against the
// float64 formula on the same bf16-rounded inputs at a ViT-B/16 head's shape, the error is the
// scores' bf16 rounding (measured 0.013 at most for unit-variance inputs), and the gradients
// reach q, k and v in bf16.
TEST(BackboneAttention, Bf16OnTheCpuStaysWithinBf16Rounding) {
    torch::manual_seed(15);
    auto qkv = torch::randn({2, 197, 3, 4, 64}).to(torch::kBFloat16).requires_grad_();
    std::vector<torch::Tensor> views;
    std::vector<torch::Tensor> exact;
    for (int64_t i = 0; i < 3; ++i) {
        views.push_back(qkv.select(2, i).transpose(1, 2));  // [B, H, N, hd], strided
        exact.push_back(views.back().detach().to(torch::kFloat64));
    }
    const auto out = compat::attention(views[0], views[1], views[2]);
    ASSERT_EQ(out.scalar_type(), torch::kBFloat16);
    const auto expected = unfusedAttention(exact[0], exact[1], exact[2]);
    const double error = (out.to(torch::kFloat64) - expected).abs().max().item<double>();
    EXPECT_LT(error, 0.03);
    EXPECT_GT(error, 0.0);  // bf16 really: float32 arithmetic would be ~1e-6
    const auto grad = torch::autograd::grad({out.to(torch::kFloat32).sum()}, {qkv})[0];
    EXPECT_EQ(grad.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(torch::isfinite(grad).all().item<bool>());
    EXPECT_GT(grad.abs().max().item<double>(), 1e-2);
}

}  // namespace
}  // namespace dlw
