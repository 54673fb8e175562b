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
    std::vector<ImageEmbedding> out(images.size());
    torch::NoGradGuard noGrad;
    const auto step = static_cast<std::size_t>(std::max(batchSize, 1));
    for (std::size_t begin = 0; begin < images.size(); begin += step) {
        const std::size_t end = std::min(images.size(), begin + step);
        const LoadedFiles loaded = loadImageFiles(images, begin, end, transform);
        for (std::size_t i = begin; i < end; ++i) {
            out[i].file = images[i].string();
            out[i].error = loaded.errors[i - begin];
        }
        if (loaded.images.empty()) {
            continue;
        }
        const auto features = model->forwardFeatures(torch::stack(loaded.images)).contiguous();
        for (std::size_t k = 0; k < loaded.indices.size(); ++k) {  // features: [B, D]
            const auto row = features[static_cast<int64_t>(k)];
            out[loaded.indices[k]].feature.assign(row.data_ptr<float>(),
                                                  row.data_ptr<float>() + row.numel());
        }
    }
    return out;
}

}  // namespace dlw
