// One training step of the engine (issue 6), timed as bench/reference/train_step.py times its
// PyTorch-eager twin: the second task of `duallora` (orthogonal adapter with the projected Adam
// update, the frozen residual piece of task 1 and the trainable one of task 2) or `seq-lora`,
// adapters on k and v of blocks depth/2 .. depth-1, rank 8, random weights of the bundled or the
// ViT-B/16 shape. Prints one JSON line: median step time, images/s, the FLOPs the step needs
// (bench/step_flops.h) and the achieved FLOP/s, peak resident memory; with --predict also the
// prediction latency (task identity and calibration included) at batch 1 and 64; with
// --gemm-peak only the machine's float32 (or bf16) matrix-multiply peak.
#include "api/runtime.h"
#include "bench_support.h"
#include "engine/continual_model.h"
#include "model/vision_transformer.h"
#include "step_flops.h"
#include "torch_compat.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <fmt/format.h>
#include <optional>

#include <torch/csrc/autograd/profiler_legacy.h>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string method = "duallora";
    std::string backbone = "bundled";
    std::string device = "cpu";
    std::string precision = "fp32";
    int batch = 64;
    int steps = 20;
    int threads = 0;
    bool predict = false;
    bool gemmPeak = false;
    std::string profile;  // a Chrome trace of the timed steps (LibTorch's profiler), when set
};

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

void synchronize(const torch::Device& device) {
    if (device.is_cuda()) {
        torch::cuda::synchronize();
    }
}

// Median seconds of `run` over `repeats` calls after `warmup` calls.
template <class F>
std::vector<double> timings(const torch::Device& device, int warmup, int repeats, F&& run) {
    for (int i = 0; i < warmup; ++i) {
        run();
    }
    synchronize(device);
    std::vector<double> t;
    for (int i = 0; i < repeats; ++i) {
        const auto t0 = Clock::now();
        run();
        synchronize(device);
        t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    std::sort(t.begin(), t.end());
    return t;
}

double percentile(const std::vector<double>& sorted, double p) {
    const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(i, sorted.size() - 1)];
}

// FLOP/s of an n×n×n float32 (bf16) matrix product: the machine's practical GEMM peak.
int gemmPeak(const Options& o, const torch::Device& device) {
    const int64_t n = device.is_cuda() ? 8192 : 2048;
    const auto dtype = o.precision == "bf16" ? torch::kBFloat16 : torch::kFloat32;
    dlw::compat::allowTf32(o.precision == "tf32");
    auto a = torch::randn({n, n}, torch::TensorOptions().device(device).dtype(dtype));
    auto b = torch::randn({n, n}, torch::TensorOptions().device(device).dtype(dtype));
    const auto t = timings(device, 2, device.is_cuda() ? 10 : 5, [&] { torch::mm(a, b); });
    const double flops = 2.0 * static_cast<double>(n * n * n);
    fmt::print(
        "{{\"implementation\": \"cpp\", \"benchmark\": \"gemm\", \"device\": \"{}\", "
        "\"precision\": \"{}\", \"threads\": {}, \"n\": {}, \"seconds_median\": {}, "
        "\"gflops\": {:.1f}}}\n",
        device.str(), o.precision, o.threads, n, percentile(t, 0.5),
        flops / percentile(t, 0.5) / 1e9);
    return 0;
}

dlw::bench::StepShape stepShape(const dlw::BackboneArch& arch, const dlw::MethodPlan& plan) {
    dlw::bench::StepShape s;
    s.tokens = arch.tokens();
    s.width = arch.width;
    s.mlp = arch.mlpHidden;
    s.depth = arch.depth;
    s.patchInputs = static_cast<int64_t>(arch.inChans) * arch.patchSize * arch.patchSize;
    s.adaptedBlocks = plan.layout.blocks;
    s.mapsPerBlock = static_cast<int64_t>(plan.layout.maps.size());
    if (plan.kind == dlw::MethodKind::DualLora) {
        s.rank = plan.layout.orthogonalRank;
        s.frozenResidualColumns = plan.layout.residualRank;     // task 1's piece
        s.trainableResidualColumns = plan.layout.residualRank;  // task 2's piece
    } else {
        s.rank = plan.layout.orthogonalRank;  // one LoRA pair per map
    }
    return s;
}

// Prediction latency: p50 and p99 milliseconds of ContinualModel::predict at batch 1 and 64.
std::string predictLatency(dlw::ContinualModel& model,
                           const dlw::BackboneArch& arch,
                           const torch::Device& device) {
    std::string out;
    for (int batch : {1, 64}) {
        const auto images =
            torch::rand({batch, arch.inChans, arch.imgSize, arch.imgSize}).to(device);
        const int repeats = arch.width > 200 ? (batch == 1 ? 30 : 5) : (batch == 1 ? 200 : 40);
        const auto t = timings(device, 3, repeats, [&] {
            auto p = model.predict(images);
            return p.logits;
        });
        out += fmt::format(", \"predict_b{0}_ms_p50\": {1:.3f}, \"predict_b{0}_ms_p99\": {2:.3f}",
                           batch, 1e3 * percentile(t, 0.5), 1e3 * percentile(t, 0.99));
    }
    return out;
}

// The benchmark itself, after the options were parsed: one JSON line on standard output.
int timeStep(Options o) {
    o.threads = dlw::applyThreads(o.threads);
    const torch::Device device(dlw::resolveDevice(o.device));
    if (o.gemmPeak) {
        return gemmPeak(o, device);
    }
    dlw::compat::allowTf32(o.precision == "tf32");
    torch::manual_seed(0);
    const dlw::BackboneArch arch = shape(o.backbone);
    dlw::VisionTransformer vit(arch);
    for (auto& p : vit->parameters()) {
        p.set_requires_grad(false);
    }
    dlw::Experiment e;
    e.method.name = o.method == "duallora" ? dlw::MethodKind::DualLora : dlw::MethodKind::SeqLora;
    const dlw::MethodPlan plan = dlw::planMethod(e, arch);
    dlw::ContinualModel model(vit, plan, {{0, 1}, {2, 3}}, device);
    model.setBf16Autocast(o.precision == "bf16");
    const auto images = torch::rand({o.batch, arch.inChans, arch.imgSize, arch.imgSize});
    const auto labels = torch::randint(0, 2, {o.batch}, torch::kInt64);
    const auto onDevice = images.to(device);
    const auto labelsOnDevice = labels.to(device);
    // Task 1 with its memory, then task 2: the step below is a second task's step.
    model.beginTask({images});
    const auto memory = model.endTask({images}, {labels}, 0.95);
    model.beginTask({images});
    torch::optim::Adam optimizer(model.trainableParameters(), torch::optim::AdamOptions(5e-4));
    auto step = [&] {
        auto loss =
            torch::nn::functional::cross_entropy(model.trainLogits(onDevice), labelsOnDevice);
        optimizer.zero_grad();
        loss.backward();
        const auto snapshot = model.beforeStep();
        optimizer.step();
        model.afterStep(snapshot);
        return loss.item<double>();  // as the reference does
    };
    std::vector<double> t;
    {
        // The legacy autograd profiler: the same op-level events in LibTorch 1.13 and 2.x, and
        // what bench/reference/train_step.py --profile records on the Python side.
        std::optional<torch::autograd::profiler::RecordProfile> profiler;
        if (!o.profile.empty()) {
            for (int i = 0; i < 2; ++i) {  // the warm-up outside the trace
                step();
            }
            profiler.emplace(o.profile);
        }
        t = timings(device, o.profile.empty() ? 2 : 0, o.steps, step);
    }
    const double median = percentile(t, 0.5);
    std::string sizes;  // memory size k per adapted input, as the reference prints it
    for (const auto& m : memory) {
        sizes += fmt::format("{}\"{}\": {}", sizes.empty() ? "" : ", ", m.block, m.size);
    }
    const double flopsPerImage = dlw::bench::stepFlops(stepShape(arch, plan));
    std::string predict;
    if (o.predict) {  // a finished second task: its statistics make task identity possible
        model.endTask({images}, {labels + 2}, 0.95);
        predict = predictLatency(model, arch, device);
    }
    fmt::print(
        "{{\"implementation\": \"cpp\", \"method\": \"{}\", \"backbone\": \"{}\", \"batch\": {}, "
        "\"device\": \"{}\", \"precision\": \"{}\", \"threads\": {}, \"steps\": {}, "
        "\"step_seconds_median\": {}, \"memory_size\": {{{}}}, \"images_per_second\": {}, "
        "\"gflop_per_image\": {:.4f}, \"achieved_gflops\": {:.2f}, \"peak_rss_mib\": {:.0f}{}}}\n",
        o.method, o.backbone, o.batch, device.str(), o.precision, o.threads, o.steps, median, sizes,
        o.batch / median, flopsPerImage / 1e9, flopsPerImage * o.batch / median / 1e9,
        dlw::bench::peakResidentMiB(), predict);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Engine training step images/s (the C++ side of bench/reference/train_step.py)"};
    Options o;
    app.add_option("--method", o.method)->check(CLI::IsMember({"duallora", "seq-lora"}));
    app.add_option("--backbone", o.backbone)->check(CLI::IsMember({"bundled", "vitb16"}));
    app.add_option("--device", o.device, "cpu, cuda, cuda:N or auto")->capture_default_str();
    app.add_option("--precision", o.precision, "fp32, tf32 (CUDA) or bf16 (autocast)")
        ->check(CLI::IsMember({"fp32", "tf32", "bf16"}))
        ->capture_default_str();
    // Zero steps left no timing to take the median of (a crash), a batch below 1 no tensor.
    app.add_option("--batch", o.batch)->check(CLI::Range(1, 65536))->capture_default_str();
    app.add_option("--steps", o.steps)->check(CLI::Range(1, 100000))->capture_default_str();
    app.add_option("--threads", o.threads, "LibTorch threads (0 = all cores)")
        ->check(CLI::Range(0, 4096));
    app.add_flag("--predict", o.predict, "Also time prediction at batch 1 and 64");
    app.add_flag("--gemm-peak", o.gemmPeak, "Only time a large matrix product");
    app.add_option("--profile", o.profile,
                   "Write a Chrome trace of the timed steps (bench/profile_ops.py compares two)");
    CLI11_PARSE(app, argc, argv);
    try {
        return timeStep(o);
    } catch (...) {
        return dlw::bench::reportException("dlw_bench_step");
    }
}
