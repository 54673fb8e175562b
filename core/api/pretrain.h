#pragma once
// `dlw pretrain`: makes the bundled backbone (DESIGN §3.1, §4) by training a small ViT on data
// that is not in the default task sequence: OpenCV's digits plus procedurally drawn images.

#include <cstdint>
#include <functional>
#include <string>

namespace dlw {

struct PretrainConfig {
    std::string output = "resources/backbones/dlw-vit-tiny.safetensors";  // written atomically
    std::string digits;             // digits.png; "" = where Debian's opencv-doc puts it
    int proceduralPerClass = 1000;  // images per procedural class (10 classes); 0 = digits only
    int fractalClasses = 6000;      // formula-driven IFS categories (FractalDB style); 0 = none
    int fractalPerClass = 10;       // images per fractal category
    bool fractalStyles = true;      // vary each fractal image's ink density and stroke width
    int imgSize = 28;               // input side (Fashion-MNIST's)
    int patchSize = 4;
    int width = 96;
    int depth = 4;
    int heads = 4;
    int mlpRatio = 4;  // MLP hidden = mlpRatio × width
    int epochs = 20;
    int batchSize = 128;
    double lr = 1e-3;  // AdamW peak, linear warm-up then cosine decay
    double weightDecay = 0.05;
    double labelSmoothing = 0.1;
    double heldoutFraction = 0.1;    // per class, never trained on
    double brightnessJitter = 0.25;  // random gain in [1 - j, 1 + j] per image (0 = off)
    double rotationDegrees = 15.0;   // random rotation in [-r, r]
    uint64_t seed = 0;
};

struct PretrainProgress {
    int epoch = 0;  // 1-based, finished
    int epochs = 0;
    double trainLoss = 0;
    double heldoutAccuracy = 0;  // percent
    double seconds = 0;          // since start
    double imagesPerSecond = 0;
};

struct PretrainReport {
    std::string output;
    double heldoutAccuracy = 0;        // percent, all classes
    double digitsHeldoutAccuracy = 0;  // percent, digits only
    double seconds = 0;
    int64_t trainImages = 0;
    int64_t parameters = 0;
};

// Trains and writes the backbone. `onEpoch` is called after every epoch on the caller's thread;
// returning false stops early (nothing is written). Throws dlw::Error for missing data or an
// invalid configuration. Call from one thread; applyThreads() first.
PretrainReport pretrainBackbone(const PretrainConfig& config,
                                const std::function<bool(const PretrainProgress&)>& onEpoch = {});

}  // namespace dlw
