#pragma once
// The metrics of DESIGN §5, shared by the engine, the CLI, the plots and reports. No LibTorch.

#include <cstdint>
#include <optional>
#include <vector>

namespace dlw {

// R[i][j]: accuracy (percent) on task j's test set after training task i; std::nullopt above
// the diagonal (tasks not trained yet). `joint` fills only the last row.
using AccuracyMatrix = std::vector<std::vector<std::optional<double>>>;

struct ContinualMetrics {
    double finalAccuracy = 0;               // A_T: mean of the last row
    double averageIncrementalAccuracy = 0;  // Ā: mean over the filled rows of their means
    std::optional<double> bwt;              // mean_{j<T} (R[T][j] − R[j][j]); none if T = 1
    std::vector<std::optional<double>> forgetting;  // per task j < T: max_{i<T} R[i][j] − R[T][j]
    std::optional<double> meanForgetting;           // mean of `forgetting`
};

// Computes the metrics from the rows present so far (a partial matrix gives the metrics "after
// the last trained task"). The matrix must be T×T and its rows filled up to the diagonal;
// throws dlw::Error otherwise. Any thread.
ContinualMetrics computeContinualMetrics(const AccuracyMatrix& matrix);

// Expected calibration error (percent) with `bins` equal-width confidence bins:
// Σ_b (n_b / N) |acc_b − conf_b|. Confidences in [0, 1]; empty input gives 0.
double expectedCalibrationError(const std::vector<float>& confidence,
                                const std::vector<bool>& correct,
                                int bins = 15);

// Per-bin reliability: mean confidence, accuracy and count, for the reliability diagram.
struct ReliabilityBin {
    double lower = 0;
    double upper = 0;
    double meanConfidence = 0;
    double accuracy = 0;
    int64_t count = 0;
};
std::vector<ReliabilityBin> reliabilityBins(const std::vector<float>& confidence,
                                            const std::vector<bool>& correct,
                                            int bins = 15);

}  // namespace dlw
