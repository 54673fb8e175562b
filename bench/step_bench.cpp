// One training step of the engine (issue 6), timed as bench/reference/train_step.py times its
// PyTorch-eager twin: the second task of `duallora` (orthogonal adapter with the projected Adam
// update, the frozen residual piece of task 1 and the trainable one of task 2) or `seq-lora`,
// adapters on k and v of blocks depth/2 .. depth-1, rank 8, random weights of the bundled or the
// ViT-B/16 shape. Prints one JSON line with the median step time and images/s.
#include "api/runtime.h"
#include "engine/continual_model.h"
#include "model/vision_transformer.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <fmt/format.h>

namespace {

using Clock = std::chrono::steady_clock;

dlw::BackboneArch shape(const std::string& name) {
    dlw::BackboneArch a;  // defaults: ViT-B/16 at 224²
    if (name == "bundled") {
        a.imgSize = 28;
        a.patchSize = 4;
        a.inChans = 1;
        a.width = 96;
        a.depth = 4;
        a.heads = 4;
        a.mlpHidden = 384;
    }
    return a;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Engine training step images/s (the C++ side of bench/reference/train_step.py)"};
    std::string method = "duallora";
    std::string backbone = "bundled";
    int batch = 64;
    int steps = 20;
    int threads = 0;
    app.add_option("--method", method)->check(CLI::IsMember({"duallora", "seq-lora"}));
    app.add_option("--backbone", backbone)->check(CLI::IsMember({"bundled", "vitb16"}));
    app.add_option("--batch", batch);
    app.add_option("--steps", steps);
    app.add_option("--threads", threads);
    CLI11_PARSE(app, argc, argv);
    threads = dlw::applyThreads(threads);
    torch::manual_seed(0);
    const dlw::BackboneArch arch = shape(backbone);
    dlw::VisionTransformer vit(arch);
    for (auto& p : vit->parameters()) {
        p.set_requires_grad(false);
    }
    dlw::Experiment e;
    e.method.name = method == "duallora" ? dlw::MethodKind::DualLora : dlw::MethodKind::SeqLora;
    const dlw::MethodPlan plan = dlw::planMethod(e, arch);
    dlw::ContinualModel model(vit, plan, {{0, 1}, {2, 3}}, torch::Device(torch::kCPU));
    const auto images = torch::rand({batch, arch.inChans, arch.imgSize, arch.imgSize});
    const auto labels = torch::randint(0, 2, {batch}, torch::kInt64);
    // Task 1 with its memory, then task 2: the step below is a second task's step.
    model.beginTask({images});
    const auto memory = model.endTask({images}, {labels}, 0.95);
    model.beginTask({images});
    torch::optim::Adam optimizer(model.trainableParameters(), torch::optim::AdamOptions(5e-4));
    auto step = [&] {
        auto loss = torch::nn::functional::cross_entropy(model.trainLogits(images), labels);
        optimizer.zero_grad();
        loss.backward();
        const auto snapshot = model.beforeStep();
        optimizer.step();
        model.afterStep(snapshot);
        return loss.item<double>();
    };
    for (int i = 0; i < 2; ++i) {
        step();
    }
    std::vector<double> times;
    for (int i = 0; i < steps; ++i) {
        const auto t0 = Clock::now();
        step();
        times.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    const double median = times[times.size() / 2];
    std::string sizes;  // memory size k per adapted input, as the reference prints it
    for (const auto& m : memory) {
        sizes += fmt::format("{}\"{}\": {}", sizes.empty() ? "" : ", ", m.block, m.size);
    }
    fmt::print(
        "{{\"implementation\": \"cpp\", \"method\": \"{}\", \"backbone\": \"{}\", \"batch\": {}, "
        "\"threads\": {}, \"steps\": {}, \"step_seconds_median\": {}, \"memory_size\": {{{}}}, "
        "\"images_per_second\": {}}}\n",
        method, backbone, batch, threads, steps, median, sizes, batch / median);
}
