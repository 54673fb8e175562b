#pragma once
// Calibrated prediction on image files with the model of a finished task of a run (DESIGN §3.2
// eq. 5-8): the top classes with raw and calibrated probabilities, the predicted task with its
// confidence and every task's posterior. Used by `dlw predict` and the workbench's drop zone.
// No LibTorch.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dlw {

struct ClassProbability {
    std::string name;
    int64_t label = 0;                 // the dataset's class index
    int task = 0;                      // 0-based task the class belongs to
    double raw = 0;                    // softmax over the concatenated heads
    std::optional<double> calibrated;  // eq. 8, for methods with task identity
};

struct ImagePrediction {
    std::string file;
    std::string error;  // non-empty when the file could not be read; nothing else is set
    std::vector<ClassProbability> top;  // best first: by calibrated probability when present
    int predictedTask = -1;             // 0-based
    double taskConfidence = 0;          // its posterior
    // p(t|x) for every task learned so far. With task identity this is eq. 7; otherwise the raw
    // probability mass of each task's classes (the task of the argmax class).
    std::vector<double> taskPosterior;
    bool hasTaskIdentity = false;
    // Out-of-distribution score: the squared Mahalanobis distance of the image's frozen feature
    // to the nearest learned class mean, over the distance that 95 % of that class's task's
    // validation images stay within (Lee et al., NeurIPS 2018, with a fitted threshold).
    // Unitless, >= 0; nullopt for a run whose checkpoints predate it.
    std::optional<double> oodScore;
    // oodScore > 1: unlike the images the model learned from. The calibrated probabilities of
    // such an image are mixed toward uniform over the C learned classes,
    // p ← p / oodScore + (1 − 1 / oodScore) / C, and with task identity its task posterior
    // alike (toward each task's share of the classes); the raw ones are not.
    bool unfamiliar = false;
};

class Predictor {
public:
    // The model of the run in `runDir` after task `afterTask` (1-based; 0 = the latest finished
    // task). Throws dlw::Error naming the directory or file: no finished task, a task that has no
    // checkpoint, a corrupt checkpoint, a missing backbone.
    explicit Predictor(const std::filesystem::path& runDir,
                       int afterTask = 0,
                       const std::string& device = "cpu");
    ~Predictor();
    Predictor(const Predictor&) = delete;
    Predictor& operator=(const Predictor&) = delete;
    Predictor(Predictor&&) noexcept;
    Predictor& operator=(Predictor&&) noexcept;

    // The tasks (1-based) after which the run has a checkpoint, ascending.
    static std::vector<int> availableTasks(const std::filesystem::path& runDir);

    int afterTask() const;  // 1-based
    int tasks() const;      // T of the run
    const std::string& method() const;
    const std::vector<std::vector<std::string>>& taskClassNames() const;  // tasks learned so far

    // One entry per file, in order; a file that cannot be read gets an error entry and the
    // others are still predicted.
    std::vector<ImagePrediction> predictFiles(const std::vector<std::filesystem::path>& files,
                                              int topK = 5);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace dlw
