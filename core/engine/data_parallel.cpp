#include "engine/data_parallel.h"

#include "api/error.h"

#include <algorithm>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

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

std::vector<std::string> linesOf(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t begin = 0;
    while (begin <= text.size()) {
        const auto end = std::min(text.find('\n', begin), text.size());
        lines.push_back(text.substr(begin, end - begin));
        begin = end + 1;
    }
    return lines;
}

// The first key path where two JSON values differ ("train.epochs"), with both values.
std::string firstDifferingKey(const nlohmann::json& mine,
                              const nlohmann::json& lead,
                              const std::string& path) {
    if (mine.is_object() && lead.is_object()) {
        for (const auto& [key, value] : mine.items()) {
            const std::string at = path.empty() ? key : path + "." + key;
            if (!lead.contains(key)) {
                return fmt::format("{} is {} here and absent on rank 0", at, value.dump());
            }
            if (value != lead.at(key)) {
                return firstDifferingKey(value, lead.at(key), at);
            }
        }
        for (const auto& [key, value] : lead.items()) {
            if (!mine.contains(key)) {
                const std::string at = path.empty() ? key : path + "." + key;
                return fmt::format("{} is absent here and {} on rank 0", at, value.dump());
            }
        }
    }
    return fmt::format("{} is {} here and {} on rank 0", path.empty() ? "the experiment" : path,
                       mine.dump(), lead.dump());
}

// What differs between this rank's check text and rank 0's, in words (checkSameExperiment's
// lines: the experiment's JSON, the program, the split's hash, the resume flag).
std::string differenceFrom(const std::string& mine, const std::string& lead) {
    const auto a = linesOf(mine);
    const auto b = linesOf(lead);
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        if (a[i] == b[i]) {
            continue;
        }
        if (i == 0) {
            const auto ja = nlohmann::json::parse(a[0], nullptr, false);
            const auto jb = nlohmann::json::parse(b[0], nullptr, false);
            if (!ja.is_discarded() && !jb.is_discarded()) {
                return firstDifferingKey(ja, jb, "");
            }
            return "the experiment";
        }
        if (a[i].rfind("split", 0) == 0) {
            return "the training and validation split (the data folder holds other files "
                   "here)";
        }
        return fmt::format("'{}' here, '{}' on rank 0", a[i], b[i]);
    }
    return "the check text's length";
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
                "rank {}'s experiment differs from rank 0's{}: every rank must run the same "
                "experiment (file and --set) with the same dlw build",
                r,
                r == group.rank() ? fmt::format(" ({})", differenceFrom(experimentJson, lead))
                                  : fmt::format(" (rank {}'s output says what differs)", r)));
        }
    }
}

}  // namespace dlw
