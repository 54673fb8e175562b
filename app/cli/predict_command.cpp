#include "api/output_text.h"
#include "api/predictor.h"
#include "api/runtime.h"
#include "cli/commands.h"

#include <fmt/format.h>
#include <iostream>

#include <nlohmann/json.hpp>

namespace dlw::cli {
namespace {

nlohmann::ordered_json toJson(const ImagePrediction& p) {
    if (!p.error.empty()) {
        return {{"file", p.file}, {"error", p.error}};
    }
    nlohmann::ordered_json top = nlohmann::ordered_json::array();
    for (const auto& c : p.top) {
        top.push_back({{"class", c.name},
                       {"label", c.label},
                       {"task", c.task + 1},
                       {"raw", c.raw},
                       {"calibrated", c.calibrated ? nlohmann::ordered_json(*c.calibrated)
                                                   : nlohmann::ordered_json(nullptr)}});
    }
    return {{"file", p.file},
            {"predicted_task", p.predictedTask + 1},
            {"task_confidence", p.taskConfidence},
            {"task_posterior", p.taskPosterior},
            {"task_identity", p.hasTaskIdentity ? "predicted" : "from class scores"},
            {"ood_score",
             p.oodScore ? nlohmann::ordered_json(*p.oodScore) : nlohmann::ordered_json(nullptr)},
            {"unfamiliar", p.unfamiliar},
            {"top", top}};
}

void printText(const ImagePrediction& p) {
    printOut("{}\n", p.file);
    if (p.unfamiliar) {
        printOut(
            "  UNFAMILIAR: unlike every learned class (OOD score {:.2f}, familiar <= 1); "
            "calibrated probabilities discounted toward uniform\n",
            *p.oodScore);
    } else if (p.oodScore) {
        printOut("  familiar (OOD score {:.2f} <= 1)\n", *p.oodScore);
    }
    std::string posterior;
    for (std::size_t t = 0; t < p.taskPosterior.size(); ++t) {
        posterior += fmt::format("{}t{} {:.3f}", t == 0 ? "" : "  ", t + 1, p.taskPosterior[t]);
    }
    printOut("  task {} (p = {:.3f}{})   posterior: {}\n", p.predictedTask + 1, p.taskConfidence,
             p.hasTaskIdentity ? "" : ", from class scores", posterior);
    std::vector<std::vector<std::string>> rows{{"class", "task", "raw", "calibrated"}};
    for (const auto& c : p.top) {
        rows.push_back({tableCell(c.name), std::to_string(c.task + 1),
                        fmt::format("{:.2f}%", 100 * c.raw),
                        c.calibrated ? fmt::format("{:.2f}%", 100 * *c.calibrated) : "-"});
    }
    printAligned(rows, {true, false, false, false}, "  ");
}

}  // namespace

void addPredictCommand(CLI::App& app, const GlobalOptions& global) {
    auto* cmd = app.add_subcommand(
        "predict", "Classify image files with a run's model: calibrated top classes and task");
    struct Options {
        std::string run;
        int afterTask = 0;
        int top = 5;
        bool json = false;
        std::vector<std::string> images;
    };
    auto opt = std::make_shared<Options>();
    cmd->add_option("--run", opt->run, "Run directory")->required()->check(CLI::ExistingDirectory);
    cmd->add_option("--after-task", opt->afterTask,
                    "Use the model as it was after task K (1-based; default: the last finished)")
        ->check(CLI::Range(1, 1'000'000));
    cmd->add_option("--top", opt->top, "How many classes to list")->check(CLI::Range(1, 1000));
    cmd->add_flag("--json", opt->json, "Print a JSON array, one object per image");
    cmd->add_option("images", opt->images, "Image files (PNG, JPEG, ...)")->required();
    cmd->callback([opt, &global] {
        applyThreads(global.threads);
        Predictor predictor(opt->run, opt->afterTask);
        const auto predictions = predictor.predictFiles(
            std::vector<std::filesystem::path>(opt->images.begin(), opt->images.end()), opt->top);
        int failed = 0;
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        if (!opt->json) {
            printOut("{} after task {} of {} ({})\n\n", predictor.method(), predictor.afterTask(),
                     predictor.tasks(), opt->run);
        }
        for (const auto& p : predictions) {
            failed += p.error.empty() ? 0 : 1;
            if (opt->json) {
                out.push_back(toJson(p));
            } else if (p.error.empty()) {
                printText(p);
            } else {
                printErr("error: {}\n", p.error);
            }
        }
        if (opt->json) {
            std::cout << jsonText(out, 2) << "\n";
        }
        if (failed > 0) {
            printErr("dlw predict: {} of {} image(s) could not be read\n", failed,
                     predictions.size());
            throw ExitCode{1};
        }
    });
}

}  // namespace dlw::cli
