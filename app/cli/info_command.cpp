#include "api/backbone_info.h"
#include "api/output_text.h"
#include "cli/commands.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <iostream>

#include <nlohmann/json.hpp>

namespace dlw::cli {
namespace {

std::string withThousands(int64_t n) {
    const std::string digits = std::to_string(n);
    std::string out;  // (built forwards: GCC 12's -Wrestrict misfires on insert in C++20)
    for (std::size_t i = 0; i < digits.size(); ++i) {
        const std::size_t left = digits.size() - i;
        if (i > 0 && left % 3 == 0 && digits[i - 1] != '-') {
            out += ',';
        }
        out += digits[i];
    }
    return out;
}

void printInfo(const BackboneInfo& info) {
    const BackboneArch& a = info.arch;
    const int side = a.imgSize / a.patchSize;
    printOut("backbone      {}\n", info.path);
    printOut("file          {:.2f} MiB, stored as {}\n",
             static_cast<double>(info.fileBytes) / (1024.0 * 1024.0), info.dtype);
    printOut("input         {}x{} px, {} channel{}, patch {} ({}x{} = {} patches{})\n", a.imgSize,
             a.imgSize, a.inChans, a.inChans == 1 ? "" : "s", a.patchSize, side, side, side * side,
             a.classToken ? " + class token" : ", no class token");
    printOut("transformer   width {}, depth {}, heads {} (head dim {}), MLP {}\n", a.width, a.depth,
             a.heads, a.width / a.heads, a.mlpHidden);
    printOut("head          {}\n",
             a.numClasses > 0 ? fmt::format("{} classes", a.numClasses) : "none");
    printOut("parameters    {} ({} without the head)\n", withThousands(info.parameters),
             withThousands(info.parameters - info.headParameters));
    if (a.mean.empty()) {
        printOut("pixels        [0, 1], no normalisation\n");
    } else {
        printOut("pixels        [0, 1], then (x - mean) / std, mean {} std {}\n",
                 fmt::join(a.mean, ","), fmt::join(a.std, ","));
    }
    for (const auto& [k, v] : info.metadata) {
        printOut("metadata      {} = {}\n", k, v);
    }
}

nlohmann::json toJson(const BackboneInfo& info) {
    const BackboneArch& a = info.arch;
    return {{"path", info.path},
            {"file_bytes", info.fileBytes},
            {"dtype", info.dtype},
            {"parameters", info.parameters},
            {"head_parameters", info.headParameters},
            {"arch",
             {{"img_size", a.imgSize},
              {"patch_size", a.patchSize},
              {"in_chans", a.inChans},
              {"width", a.width},
              {"depth", a.depth},
              {"heads", a.heads},
              {"mlp_hidden", a.mlpHidden},
              {"num_classes", a.numClasses},
              {"class_token", a.classToken},
              {"mean", a.mean},
              {"std", a.std}}},
            {"metadata", info.metadata}};
}

}  // namespace

void addInfoCommand(CLI::App& app, const GlobalOptions& /*global*/) {
    auto* cmd = app.add_subcommand("info", "Show a backbone file's architecture and parameters");
    auto path = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    cmd->add_option("--backbone", *path, "ViT backbone (.safetensors, timm layout)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_flag("--json", *json, "Print JSON instead of text");
    cmd->callback([path, json] {
        const BackboneInfo info = inspectBackbone(*path);
        if (*json) {
            std::cout << jsonText(toJson(info), 2) << "\n";
        } else {
            printInfo(info);
        }
    });
}

}  // namespace dlw::cli
