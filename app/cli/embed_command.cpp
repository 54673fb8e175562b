#include "api/backbone_info.h"
#include "api/output_text.h"
#include "api/runtime.h"
#include "cli/commands.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <iostream>

#include <nlohmann/json.hpp>

namespace dlw::cli {

void addEmbedCommand(CLI::App& app, const GlobalOptions& global) {
    auto* cmd = app.add_subcommand(
        "embed",
        "Print the pooled feature of each image: the final-norm class token, or the token mean "
        "when the backbone has no class token (images resized as the backbone expects)");
    struct Options {
        std::string backbone;
        std::vector<std::string> images;
        bool json = false;
    };
    auto opt = std::make_shared<Options>();
    cmd->add_option("--backbone", opt->backbone, "ViT backbone (.safetensors)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_flag("--json", opt->json, "Print a JSON array of {file, feature | error}");
    cmd->add_option("images", opt->images, "Image files (PNG, JPEG, ...)")->required();
    cmd->callback([opt, &global] {
        applyThreads(global.threads);
        std::vector<std::filesystem::path> files(opt->images.begin(), opt->images.end());
        const auto embeddings = embedImageFiles(opt->backbone, files);
        int failed = 0;
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& e : embeddings) {
            failed += e.error.empty() ? 0 : 1;
            if (opt->json) {
                out.push_back(e.error.empty()
                                  ? nlohmann::ordered_json{{"file", e.file}, {"feature", e.feature}}
                                  : nlohmann::ordered_json{{"file", e.file}, {"error", e.error}});
            } else if (e.error.empty()) {
                printOut("{}: [{:.6g}]\n", e.file, fmt::join(e.feature, ", "));
            } else {
                printErr("error: {}\n", e.error);
            }
        }
        if (opt->json) {
            std::cout << jsonText(out, 2) << "\n";
        }
        if (failed > 0) {
            printErr("dlw embed: {} of {} image(s) could not be read\n", failed, embeddings.size());
            throw ExitCode{1};
        }
    });
}

}  // namespace dlw::cli
