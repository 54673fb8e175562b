#pragma once
// How many images of each class a dataset holds, for the reader tests.
#include "data/dataset.h"

#include <cstdint>
#include <vector>

namespace dlw::test {

// [classNames.size()]: the number of labels equal to each class index.
inline std::vector<int64_t> classCounts(const ImageDataset& data) {
    std::vector<int64_t> result(data.classNames.size(), 0);
    for (const int64_t label : data.labels) {
        ++result[static_cast<std::size_t>(label)];
    }
    return result;
}

}  // namespace dlw::test
