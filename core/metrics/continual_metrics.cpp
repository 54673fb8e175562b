#include "api/error.h"
#include "api/metrics.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace dlw {
namespace {

double mean(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) {
        s += x;
    }
    return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// The values of row i up to the diagonal; throws when one is missing.
std::vector<double> filledRow(const AccuracyMatrix& m, std::size_t i) {
    std::vector<double> row;
    for (std::size_t j = 0; j <= i && j < m[i].size(); ++j) {
        if (!m[i][j]) {
            throw Error(
                fmt::format("accuracy matrix row {} has no value for task {}", i + 1, j + 1));
        }
        row.push_back(*m[i][j]);
    }
    return row;
}

}  // namespace

ContinualMetrics computeContinualMetrics(const AccuracyMatrix& matrix) {
    for (std::size_t i = 0; i < matrix.size(); ++i) {
        if (matrix[i].size() != matrix.size()) {
            throw Error(fmt::format("the accuracy matrix is not T×T: {} rows, row {} has {}",
                                    matrix.size(), i + 1, matrix[i].size()));
        }
    }
    ContinualMetrics out;
    // Rows present: those with any value (joint has only the last one).
    std::vector<std::size_t> rows;
    for (std::size_t i = 0; i < matrix.size(); ++i) {
        if (std::any_of(matrix[i].begin(), matrix[i].end(),
                        [](const auto& v) { return v.has_value(); })) {
            rows.push_back(i);
        }
    }
    if (rows.empty()) {
        return out;
    }
    const std::size_t last = rows.back();
    const std::vector<double> lastRow = filledRow(matrix, last);
    out.finalAccuracy = mean(lastRow);
    std::vector<double> rowMeans;
    for (std::size_t i : rows) {
        rowMeans.push_back(mean(filledRow(matrix, i)));
    }
    out.averageIncrementalAccuracy = mean(rowMeans);
    if (last == 0 || rows.size() < 2) {
        return out;
    }
    std::vector<double> bwt;
    std::vector<double> forgetting;
    for (std::size_t j = 0; j < last; ++j) {
        double best = -1e300;
        for (std::size_t i : rows) {
            if (i >= j && i < last && matrix[i][j]) {
                best = std::max(best, *matrix[i][j]);
            }
        }
        if (matrix[j][j]) {
            bwt.push_back(lastRow[j] - *matrix[j][j]);
        }
        if (best > -1e300) {
            out.forgetting.emplace_back(best - lastRow[j]);
            forgetting.push_back(best - lastRow[j]);
        } else {
            out.forgetting.emplace_back(std::nullopt);
        }
    }
    if (!bwt.empty()) {
        out.bwt = mean(bwt);
    }
    if (!forgetting.empty()) {
        out.meanForgetting = mean(forgetting);
    }
    return out;
}

std::vector<ReliabilityBin> reliabilityBins(const std::vector<float>& confidence,
                                            const std::vector<bool>& correct,
                                            int bins) {
    if (confidence.size() != correct.size() || bins <= 0) {
        throw Error("reliability bins: confidence and correctness must have the same length");
    }
    std::vector<ReliabilityBin> out(static_cast<std::size_t>(bins));
    for (int b = 0; b < bins; ++b) {
        out[static_cast<std::size_t>(b)].lower = static_cast<double>(b) / bins;
        out[static_cast<std::size_t>(b)].upper = static_cast<double>(b + 1) / bins;
    }
    for (std::size_t i = 0; i < confidence.size(); ++i) {
        const double c = std::clamp(static_cast<double>(confidence[i]), 0.0, 1.0);
        // Bins are (lower, upper]; a confidence of exactly 0 goes to the first bin.
        const int b = std::clamp(static_cast<int>(std::ceil(c * bins)) - 1, 0, bins - 1);
        auto& bin = out[static_cast<std::size_t>(b)];
        bin.meanConfidence += c;
        bin.accuracy += correct[i] ? 1.0 : 0.0;
        ++bin.count;
    }
    for (auto& bin : out) {
        if (bin.count > 0) {
            bin.meanConfidence /= static_cast<double>(bin.count);
            bin.accuracy /= static_cast<double>(bin.count);
        }
    }
    return out;
}

double expectedCalibrationError(const std::vector<float>& confidence,
                                const std::vector<bool>& correct,
                                int bins) {
    if (confidence.empty()) {
        return 0.0;
    }
    double ece = 0;
    for (const auto& bin : reliabilityBins(confidence, correct, bins)) {
        ece += static_cast<double>(bin.count) * std::abs(bin.accuracy - bin.meanConfidence);
    }
    return 100.0 * ece / static_cast<double>(confidence.size());
}

}  // namespace dlw
