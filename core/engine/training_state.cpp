#include "engine/training_state.h"

#include "api/error.h"
#include "util/json_numbers.h"

#include <algorithm>
#include <fmt/format.h>
#include <mutex>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>

namespace dlw {

void TaskPosition::startEpoch() {
    batch = 0;
    epochLossSum = 0;
    epochImages = 0;
    epochSeconds = 0;
}

nlohmann::json TaskPosition::toJson() const {
    return {{"task", task},
            {"epoch", epoch},
            {"batch", batch},
            {"task_train_seconds", taskTrainSeconds},
            {"memory_seconds", memorySeconds},
            {"epoch_loss_sum", epochLossSum},
            {"epoch_images", epochImages},
            {"epoch_seconds", epochSeconds}};
}

TaskPosition TaskPosition::fromJson(const nlohmann::json& j) {
    TaskPosition p;
    // Checked: a plain get<int>() of 1e300 is undefined behaviour (#14).
    p.task = detail::numberAt<int>(j, "task");
    p.epoch = detail::numberAt<int>(j, "epoch");
    p.batch = detail::numberAt<int64_t>(j, "batch");
    p.taskTrainSeconds = j.at("task_train_seconds").get<double>();
    p.memorySeconds = j.value("memory_seconds", 0.0);
    p.epochLossSum = j.at("epoch_loss_sum").get<double>();
    p.epochImages = detail::numberAt<int64_t>(j, "epoch_images");
    p.epochSeconds = j.at("epoch_seconds").get<double>();
    return p;
}

torch::Tensor optimizerState(torch::optim::Optimizer& optimizer) {
    torch::serialize::OutputArchive archive;
    optimizer.save(archive);
    std::ostringstream out;
    archive.save_to(out);
    const std::string bytes = out.str();
    return torch::from_blob(const_cast<char*>(bytes.data()),  // NOLINT(*-const-cast): cloned
                            {static_cast<int64_t>(bytes.size())}, torch::kUInt8)
        .clone();
}

void loadOptimizerState(torch::optim::Optimizer& optimizer,
                        const torch::Tensor& bytes,
                        const torch::Device& device) {
    if (bytes.scalar_type() != torch::kUInt8 || bytes.dim() != 1) {
        throw Error("the checkpoint's optimizer state is not a byte vector");
    }
    const auto cpu = bytes.contiguous().cpu();
    std::istringstream in(std::string(reinterpret_cast<const char*>(cpu.data_ptr<uint8_t>()),
                                      static_cast<std::size_t>(cpu.numel())));
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(in, device);
        optimizer.load(archive);
    } catch (const c10::Error& err) {
        std::string what = err.what_without_backtrace();
        std::replace(what.begin(), what.end(), '\n', ' ');
        throw Error(fmt::format("unreadable optimizer state in the checkpoint ({})", what));
    }
}

torch::Tensor cpuRngState() {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    return generator.get_state();
}

void setCpuRngState(const torch::Tensor& state) {
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    try {
        generator.set_state(state);
    } catch (const c10::Error& err) {
        std::string what = err.what_without_backtrace();
        std::replace(what.begin(), what.end(), '\n', ' ');
        throw Error(fmt::format("unreadable generator state in the checkpoint ({})", what));
    }
}

}  // namespace dlw
