#pragma once
// Precompiled for every torch-heavy unit of dlw_core and the core tests (~2x faster builds).
#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>
