#include "method/dual_lora_adapters.h"

#include "api/error.h"
#include "method/covariance_observer.h"
#include "method/subspace_memory.h"
#include "model/backbone.h"
#include "model/lora.h"
#include "test_support.h"

#include <gtest/gtest.h>

namespace dlw {
namespace {

constexpr int kBlock = 1;
const InputKey kKey{kBlock, MapInput::Norm1};

struct Fixture {
    VisionTransformer model =
        loadBackbone(test::fixturesDir() / "vit_reference" / "tiny.safetensors");
    DualLoraAdapters adapters{nullptr};
    SubspaceMemory memory{48};

    explicit Fixture(int orthogonalRank = 4, int residualRank = 4) {
        AdapterLayout layout;
        layout.maps = {AdaptedMap::K, AdaptedMap::V};
        layout.blocks = {kBlock};
        layout.orthogonalRank = orthogonalRank;
        layout.residualRank = residualRank;
        adapters = DualLoraAdapters(model->arch(), layout);
    }

    torch::Tensor covariance(const torch::Tensor& images) {
        CovarianceObserver observer({kKey});
        ForwardOptions o;
        o.observer = &observer;
        o.adapters = adapters.get();
        torch::NoGradGuard noGrad;
        model->forwardFeatures(images, o);
        return observer.covariance(kKey);
    }

    // Norm1 outputs of block 1 for `images`, [B·N, d].
    torch::Tensor activations(const torch::Tensor& images) {
        struct Grab : ForwardObserver {
            torch::Tensor x;
            void mapInput(int block, MapInput in, const torch::Tensor& t) override {
                if (block == kBlock && in == MapInput::Norm1) {
                    x = t.reshape({-1, t.size(-1)}).clone();
                }
            }
        } grab;
        ForwardOptions o;
        o.observer = &grab;
        torch::NoGradGuard noGrad;
        model->forwardFeatures(images, o);
        return grab.x;
    }

    // Trains a task with Adam on a synthetic loss; returns the largest ‖ΔA M‖ / ‖ΔA‖ seen.
    double train(const torch::Tensor& images, int steps, bool project) {
        adapters->beginTask(
            {memory.taskBases(covariance(images), 4), memory.taskBases(covariance(images), 4)});
        torch::optim::Adam adam(adapters->trainableParameters(), torch::optim::AdamOptions(1e-2));
        ForwardOptions o;
        o.adapters = adapters.get();
        auto target = torch::randn({images.size(0), 48});
        double worst = 0;
        for (int s = 0; s < steps; ++s) {
            auto loss = (model->forwardFeatures(images, o) - target).pow(2).mean();
            adam.zero_grad();
            loss.backward();
            const auto before = adapters->snapshotOrthogonal();
            adam.step();
            if (project) {
                adapters->projectOrthogonalUpdate(
                    before, [&](const AdapterSite&) -> const SubspaceMemory& { return memory; },
                    /*projectB=*/true);
            }
            if (memory.size() > 0) {
                const auto& site = adapters->sites()[0];
                auto delta = adapters->orthogonalA(site).detach() - before[0];
                worst = std::max(worst, torch::matmul(delta, memory.basis()).norm().item<double>() /
                                            (delta.norm().item<double>() + 1e-30));
            }
        }
        return worst;
    }

    // The orthogonal adapter's output B_O A_O x for every site, [sites, B·N, d_out].
    torch::Tensor orthogonalOutput(const torch::Tensor& x) {
        std::vector<torch::Tensor> out;
        for (const auto& site : adapters->sites()) {
            out.push_back(torch::matmul(torch::matmul(x, adapters->orthogonalA(site).t()),
                                        adapters->orthogonalB(site).t())
                              .detach());
        }
        return torch::stack(out);
    }
};

TEST(DualLoraAdapters, ProjectedUpdatesLeaveOldMemoryOutputsUnchanged) {
    torch::manual_seed(0);
    Fixture f;
    const auto task1 = torch::rand({16, 3, 32, 32});
    f.train(task1, 20, /*project=*/true);  // memory empty: plain training
    f.memory.update(f.covariance(task1), 0.97);
    ASSERT_GT(f.memory.size(), 0);
    const auto xOld = f.activations(task1);  // stored old-task activations
    const auto m = f.memory.basis();
    const auto xMem = torch::matmul(torch::matmul(xOld, m), m.t());  // M Mᵀ x
    const auto outMemBefore = f.orthogonalOutput(xMem);
    const auto outRawBefore = f.orthogonalOutput(xOld);

    const auto task2 = torch::rand({16, 3, 32, 32}) * 0.5 + 0.25;
    const double worst = f.train(task2, 20, /*project=*/true);
    EXPECT_LE(worst, 1e-5);  // every projected ΔA_O satisfies ‖ΔA_O M‖ ≤ 1e-5 ‖ΔA_O‖
    const auto outMemAfter = f.orthogonalOutput(xMem);
    const double drift =
        (outMemAfter - outMemBefore).norm().item<double>() / outMemBefore.norm().item<double>();
    EXPECT_LE(drift, 1e-5);
    const double rawDrift = (f.orthogonalOutput(xOld) - outRawBefore).norm().item<double>() /
                            outRawBefore.norm().item<double>();
    RecordProperty("raw_drift", std::to_string(rawDrift));
    std::cout << "[ info ] orthogonal adapter drift on MMᵀx: " << drift
              << ", on raw old activations: " << rawDrift << "\n";
}

TEST(DualLoraAdapters, WithoutProjectionOldOutputsDrift) {
    torch::manual_seed(0);
    Fixture f;
    const auto task1 = torch::rand({16, 3, 32, 32});
    f.train(task1, 20, true);
    f.memory.update(f.covariance(task1), 0.97);
    const auto m = f.memory.basis();
    const auto xMem = torch::matmul(torch::matmul(f.activations(task1), m), m.t());
    const auto before = f.orthogonalOutput(xMem);
    f.train(torch::rand({16, 3, 32, 32}) * 0.5 + 0.25, 20, /*project=*/false);
    EXPECT_GT(
        (f.orthogonalOutput(xMem) - before).norm().item<double>() / before.norm().item<double>(),
        1e-2);  // the invariant test above can fail
}

TEST(DualLoraAdapters, ResidualPiecesFreezeAfterTheirTask) {
    torch::manual_seed(1);
    Fixture f;
    const auto task1 = torch::rand({8, 3, 32, 32});
    f.train(task1, 5, true);
    f.memory.update(f.covariance(task1), 0.95);
    const auto& site = f.adapters->sites()[0];
    const auto v0 = f.adapters->residualV(site, 0).detach().clone();
    EXPECT_GT(v0.abs().max().item<double>(), 0.0);  // it trained
    f.train(torch::rand({8, 3, 32, 32}), 5, true);
    EXPECT_TRUE(torch::equal(f.adapters->residualV(site, 0), v0));
    EXPECT_FALSE(f.adapters->residualV(site, 0).requires_grad());
    // U_1 is orthogonal to the memory of task 0 (eq. 3).
    EXPECT_LT(torch::matmul(f.adapters->residualU(site, 1).t(), f.memory.taskBlock(0))
                  .abs()
                  .max()
                  .item<double>(),
              1e-5);
}

// Without autograd the joined adapter matrices are kept between forwards; every way a
// parameter changes (an optimizer step, the projection's copy_, a new task's piece) must show
// in the next no-grad forward exactly as a forward that joins them afresh.
TEST(DualLoraAdapters, NoGradForwardFollowsEveryParameterChange) {
    torch::manual_seed(4);
    Fixture f;
    const auto x = torch::rand({4, 3, 32, 32});
    ForwardOptions o;
    o.adapters = f.adapters.get();
    const auto fresh = [&] { return f.model->forwardFeatures(x, o).detach(); };  // grad mode
    const auto cached = [&] {
        torch::NoGradGuard noGrad;
        return f.model->forwardFeatures(x, o);
    };
    f.train(x, 3, true);
    auto before = cached();
    EXPECT_TRUE(torch::equal(cached(), before));
    EXPECT_TRUE(torch::equal(before, fresh()));
    f.train(x, 1, true);  // optimizer step on A_O, B_O and V_1
    EXPECT_FALSE(torch::equal(cached(), before));
    EXPECT_TRUE(torch::equal(cached(), fresh()));
    before = cached();
    {
        torch::NoGradGuard noGrad;
        f.adapters->orthogonalB(f.adapters->sites()[0]).mul_(2.0);
    }
    EXPECT_FALSE(torch::equal(cached(), before));
    EXPECT_TRUE(torch::equal(cached(), fresh()));
}

// With one task DualLoRA's orthogonal adapter is plain LoRA: same init, same steps, same result.
TEST(DualLoraAdapters, OneTaskEqualsPlainLora) {
    Fixture f(/*orthogonalRank=*/4, /*residualRank=*/0);
    torch::manual_seed(3);
    LoraAdapters lora(f.model->arch(), f.adapters->layout().maps, f.adapters->layout().blocks, 4);
    {
        torch::NoGradGuard noGrad;
        for (std::size_t i = 0; i < f.adapters->sites().size(); ++i) {
            const auto& p = lora->named_parameters();
            const auto& site = f.adapters->sites()[i];
            const std::string name =
                fmt::format("blocks_{}_{}_lora_", site.block, toString(site.map));
            f.adapters->orthogonalA(site).copy_(p[name + "A"]);
        }
    }
    const auto x = torch::rand({8, 3, 32, 32});
    const auto target = torch::randn({8, 48});
    auto run = [&](AdapterHook* hook, std::vector<torch::Tensor> params, bool project) {
        torch::optim::Adam adam(params, torch::optim::AdamOptions(1e-2));
        ForwardOptions o;
        o.adapters = hook;
        for (int s = 0; s < 10; ++s) {
            auto loss = (f.model->forwardFeatures(x, o) - target).pow(2).mean();
            adam.zero_grad();
            loss.backward();
            const auto before = f.adapters->snapshotOrthogonal();
            adam.step();
            if (project) {  // memory is empty during the first task: the projection is a no-op
                f.adapters->projectOrthogonalUpdate(
                    before, [&](const AdapterSite&) -> const SubspaceMemory& { return f.memory; },
                    true);
            }
        }
        torch::NoGradGuard noGrad;
        return f.model->forwardFeatures(x, o);
    };
    f.adapters->beginTask({});
    const auto dual = run(f.adapters.get(), f.adapters->trainableParameters(), true);
    const auto plain = run(lora.get(), lora->parameters(), false);
    EXPECT_TRUE(torch::allclose(dual, plain, 1e-6, 1e-6));
}

}  // namespace
}  // namespace dlw
