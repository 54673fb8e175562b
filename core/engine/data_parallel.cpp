#include "engine/data_parallel.h"

#include "api/error.h"

#include <fmt/format.h>

namespace dlw {
namespace {

torch::Tensor bytesOf(const std::string& text) {
    auto t = torch::empty({static_cast<int64_t>(text.size())}, torch::kUInt8);
    std::copy(text.begin(), text.end(), t.data_ptr<uint8_t>());
    return t;
}

std::string textOf(const torch::Tensor& bytes) {
    const auto c = bytes.contiguous();
    const auto* p = c.data_ptr<uint8_t>();
    return {p, p + c.numel()};
}

}  // namespace

bool sumGradients(Collective& group,
                  torch::optim::Optimizer& optimizer,
                  torch::Tensor& loss,
                  bool stopWanted,
                  const std::string& what) {
    std::vector<torch::Tensor*> params;
    for (auto& g : optimizer.param_groups()) {
        for (auto& p : g.params()) {
            params.push_back(&p);
        }
    }
    // One float buffer per dtype: the gradients (zeros where this rank has none), then per
    // parameter whether this rank has a gradient, the loss and the stop request.
    std::vector<torch::Tensor> parts;
    auto flags = torch::zeros({static_cast<int64_t>(params.size()) + 2}, torch::kFloat32);
    for (std::size_t i = 0; i < params.size(); ++i) {
        const auto& grad = params[i]->grad();
        flags[static_cast<int64_t>(i)] = grad.defined() ? 1.0F : 0.0F;
        parts.push_back(grad.defined() ? grad : torch::zeros_like(*params[i]));
    }
    const auto n = static_cast<int64_t>(params.size());
    flags[n] = loss.detach().to(torch::kCPU, torch::kFloat32).item<float>();
    flags[n + 1] = stopWanted ? 1.0F : 0.0F;
    parts.push_back(flags);
    group.allReduceSum(parts, what);
    const auto reduced = parts.back();
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (reduced[static_cast<int64_t>(i)].item<float>() == 0) {
            params[i]->mutable_grad() = torch::Tensor();
        } else if (!params[i]->grad().defined()) {
            params[i]->mutable_grad() = parts[i];
        }
    }
    loss = reduced[n].to(loss.device());
    return reduced[n + 1].item<float>() > 0;
}

std::string shareText(Collective& group, const std::string& text, const std::string& what) {
    std::vector<torch::Tensor> size{
        torch::tensor({static_cast<int64_t>(group.rank() == 0 ? text.size() : 0)}, torch::kInt64)};
    group.broadcast(size, 0, what);
    const int64_t n = size[0].item<int64_t>();
    std::vector<torch::Tensor> bytes{group.rank() == 0 ? bytesOf(text)
                                                       : torch::empty({n}, torch::kUInt8)};
    if (n > 0) {
        group.broadcast(bytes, 0, what);
    }
    return textOf(bytes[0]);
}

void onRankZero(Collective& group, const std::string& what, const std::function<void()>& f) {
    std::string error;
    if (group.rank() == 0) {
        try {
            f();
        } catch (const std::exception& err) {  // LibTorch's and the JSON reader's too
            error = err.what();
            if (error.empty()) {
                error = "failed";
            }
        }
    }
    error = shareText(group, error, what);
    if (!error.empty()) {
        throw Error(group.rank() == 0 ? error : "rank 0: " + error);
    }
}

Checkpoint shareCheckpoint(Collective& group, const std::function<Checkpoint()>& read) {
    Checkpoint kept;
    nlohmann::json header;
    onRankZero(group, "the checkpoint's state", [&] {
        kept = read();
        header["state"] = kept.first;
        header["tensors"] = nlohmann::json::array();
        for (auto& [name, t] : kept.second) {
            t = t.contiguous();
            header["tensors"].push_back({{"name", name},
                                         {"dtype", static_cast<int>(t.scalar_type())},
                                         {"shape", t.sizes().vec()}});
        }
    });
    header = nlohmann::json::parse(
        shareText(group, group.rank() == 0 ? header.dump() : "", "the checkpoint's state"));
    Checkpoint out;
    out.first = header.at("state");
    std::vector<torch::Tensor> tensors;
    for (const auto& entry : header.at("tensors")) {
        const auto name = entry.at("name").get<std::string>();
        tensors.push_back(
            group.rank() == 0
                ? kept.second.at(name)
                : torch::empty(entry.at("shape").get<std::vector<int64_t>>(),
                               static_cast<torch::ScalarType>(entry.at("dtype").get<int>())));
    }
    group.broadcast(tensors, 0, "the checkpoint's tensors");
    std::size_t i = 0;
    for (const auto& entry : header.at("tensors")) {
        out.second.emplace(entry.at("name").get<std::string>(), tensors[i++]);
    }
    return out;
}

void checkSameExperiment(Collective& group, const std::string& experimentJson) {
    const std::string lead = shareText(group, experimentJson, "the experiment check");
    const bool same = lead == experimentJson;
    auto differs = torch::zeros({group.size()}, torch::kInt64);
    differs[group.rank()] = same ? 0 : 1;
    std::vector<torch::Tensor> all{differs};
    group.allReduceSum(all, "the experiment check");
    for (int r = 0; r < group.size(); ++r) {
        if (all[0][r].item<int64_t>() != 0) {
            throw Error(fmt::format(
                "rank {}'s experiment differs from rank 0's (the file, a --set, the dlw build or "
                "its LibTorch): every rank must run the same experiment with the same program",
                r));
        }
    }
}

}  // namespace dlw
