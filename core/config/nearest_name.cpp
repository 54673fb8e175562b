#include "config/nearest_name.h"

#include <algorithm>
#include <limits>

namespace dlw::detail {

int editDistance(const std::string& a, const std::string& b) {
    // d[i][j] = distance between a[0, i) and b[0, j); three rows suffice for the swap case.
    const std::size_t n = b.size();
    std::vector<int> before(n + 1);
    std::vector<int> previous(n + 1);
    std::vector<int> current(n + 1);
    for (std::size_t j = 0; j <= n; ++j) {
        previous[j] = static_cast<int>(j);
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = static_cast<int>(i);
        for (std::size_t j = 1; j <= n; ++j) {
            const int substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                current[j] = std::min(current[j], before[j - 2] + 1);
            }
        }
        std::swap(before, previous);
        std::swap(previous, current);
    }
    return previous[n];
}

std::string nearestName(const std::string& word, const std::vector<std::string>& candidates) {
    std::string best;
    int bestDistance = std::numeric_limits<int>::max();
    for (const auto& candidate : candidates) {
        const int distance = editDistance(word, candidate);
        if (distance < bestDistance) {
            bestDistance = distance;
            best = candidate;
        }
    }
    const int allowed = std::max(2, static_cast<int>(word.size()) / 4);
    return bestDistance <= allowed ? best : std::string();
}

}  // namespace dlw::detail
