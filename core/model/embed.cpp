#include "api/backbone_info.h"
#include "api/error.h"
#include "data/batch_loader.h"
#include "model/backbone.h"

#include <fmt/format.h>

namespace dlw {

ImageTransform transformFor(const BackboneArch& arch) {
    ImageTransform t;
    t.size = arch.imgSize;
    t.channels = arch.inChans;
    t.mean = arch.mean;
    t.std = arch.std;
    return t;
}

std::vector<ImageEmbedding> embedImageFiles(const std::filesystem::path& backbone,
                                            const std::vector<std::filesystem::path>& images,
                                            int batchSize) {
    VisionTransformer model = loadBackbone(backbone);
    const ImageTransform transform = transformFor(model->arch());
    ImageDataset files;
    files.files = images;
    files.labels.assign(images.size(), 0);
    files.classNames = {"?"};

    std::vector<ImageEmbedding> out(images.size());
    std::vector<std::size_t> pending;  // indices of decoded images in the current batch
    std::vector<torch::Tensor> batch;
    torch::NoGradGuard noGrad;
    auto flush = [&] {
        if (batch.empty()) {
            return;
        }
        auto features = model->forwardFeatures(torch::stack(batch)).contiguous();  // [B, D]
        for (std::size_t i = 0; i < pending.size(); ++i) {
            auto row = features[static_cast<int64_t>(i)];
            out[pending[i]].feature.assign(row.data_ptr<float>(),
                                           row.data_ptr<float>() + row.numel());
        }
        batch.clear();
        pending.clear();
    };
    for (std::size_t i = 0; i < images.size(); ++i) {
        out[i].file = images[i].string();
        try {
            batch.push_back(loadImage(files, static_cast<int64_t>(i), transform,
                                      /*augment=*/false, /*augmentSeed=*/0));
            pending.push_back(i);
        } catch (const Error& e) {
            out[i].error = e.what();
        }
        if (static_cast<int>(batch.size()) >= batchSize) {
            flush();
        }
    }
    flush();
    return out;
}

}  // namespace dlw
