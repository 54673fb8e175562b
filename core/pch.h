#pragma once
// Precompiled for every torch-heavy unit of dlw_core and the core tests (~2x faster builds).
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>
