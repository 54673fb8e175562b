#include "api/pretrain.h"
#include "api/runtime.h"
#include "cli/commands.h"

#include <fmt/format.h>

namespace dlw::cli {

void addPretrainCommand(CLI::App& app, const GlobalOptions& global) {
    auto* cmd = app.add_subcommand(
        "pretrain", "Pre-train the small bundled ViT backbone on OpenCV digits + drawn shapes");
    auto c = std::make_shared<PretrainConfig>();
    cmd->add_option("--out", c->output, "Backbone file to write (.safetensors)")
        ->capture_default_str();
    cmd->add_option("--digits", c->digits, "OpenCV digits.png (default: Debian's opencv-doc)");
    cmd->add_option("--procedural-per-class", c->proceduralPerClass,
                    "Drawn images per procedural class (0 = digits only)")
        ->capture_default_str();
    cmd->add_option("--fractal-classes", c->fractalClasses,
                    "Formula-driven fractal (IFS) classes, FractalDB style (0 = none)")
        ->capture_default_str();
    cmd->add_option("--fractal-per-class", c->fractalPerClass, "Images per fractal class")
        ->capture_default_str();
    cmd->add_flag("--fractal-styles,!--plain-fractals", c->fractalStyles,
                  "Vary each fractal image's ink density and stroke width (default), or not")
        ->capture_default_str();
    cmd->add_option("--epochs", c->epochs, "Training epochs")->capture_default_str();
    cmd->add_option("--batch-size", c->batchSize, "Batch size")->capture_default_str();
    cmd->add_option("--lr", c->lr, "Peak learning rate (AdamW, cosine)")->capture_default_str();
    cmd->add_option("--width", c->width, "Embedding width")->capture_default_str();
    cmd->add_option("--depth", c->depth, "Number of blocks")->capture_default_str();
    cmd->add_option("--heads", c->heads, "Attention heads")->capture_default_str();
    cmd->add_option("--patch", c->patchSize, "Patch size")->capture_default_str();
    cmd->add_option("--seed", c->seed, "Random seed")->capture_default_str();
    cmd->add_option("--brightness", c->brightnessJitter, "Brightness jitter (gain 1 ± j)")
        ->capture_default_str();
    cmd->add_option("--rotation", c->rotationDegrees, "Rotation jitter in degrees")
        ->capture_default_str();
    cmd->callback([c, &global] {
        const int threads = applyThreads(global.threads);
        printOut("pretrain: {}x{} ViT, width {}, depth {}, heads {}, {} epochs, {} threads\n",
                 c->imgSize, c->imgSize, c->width, c->depth, c->heads, c->epochs, threads);
        const auto report = pretrainBackbone(*c, [](const PretrainProgress& p) {
            printOut("epoch {:>3}/{}  loss {:.4f}  held-out {:.2f} %  {:.0f} img/s  {:.0f} s\n",
                     p.epoch, p.epochs, p.trainLoss, p.heldoutAccuracy, p.imagesPerSecond,
                     p.seconds);
            std::fflush(stdout);
            return true;
        });
        printOut(
            "wrote {}: {} parameters, held-out accuracy {:.2f} % (digits {:.2f} %), "
            "{} training images, {:.0f} s\n",
            report.output, report.parameters, report.heldoutAccuracy, report.digitsHeldoutAccuracy,
            report.trainImages, report.seconds);
    });
}

}  // namespace dlw::cli
