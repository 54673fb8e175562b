#pragma once
// "The model of a run", built in one place for the engine that trains it and the predictor that
// reloads it (#14): the backbone the experiment names, the method's plan, one head per task
// (joint: one head over every class), the device, the precision, and the image transform that
// evaluation used. Before this, the predictor normalised pixels that the run had not (a run
// with data.normalize "none" on a backbone with mean/std in its metadata: 85 % in the run,
// 27.5 % in `dlw predict`).

#include "api/backbone_info.h"
#include "api/experiment.h"
#include "data/batch_loader.h"
#include "engine/continual_model.h"
#include "model/vision_transformer.h"

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace dlw {

// The backbone file a run of `experiment` uses: backbone.path, or the bundled one when empty.
std::string runBackbonePath(const Experiment& experiment);

// The evaluation transform of a run (no augmentation): the backbone's input size, channels and,
// unless data.normalize is "none", the mean/std of its metadata (DESIGN §4).
ImageTransform evalTransformFor(const Experiment& experiment, const BackboneArch& arch);

struct RunModel {
    std::unique_ptr<ContinualModel> model;
    ImageTransform evalTransform;
    torch::Device device = torch::kCPU;
};

// Builds the (untrained) model of a run of `experiment` on `backbone` (described by `info`) for
// the tasks' classes `taskClasses` (global labels per task, in sequence order; joint gets one
// task of them all), on `device` ("cpu", "cuda:N"; resolved), with the experiment's precision
// (bf16 autocast; TF32 is process-wide and set here too). Throws dlw::Error for a plan the
// backbone cannot carry. The caller seeds torch's generator first when it needs the same
// initial adapters. Any thread; not concurrently with another run setting TF32.
RunModel buildRunModel(const Experiment& experiment,
                       VisionTransformer backbone,
                       const BackboneInfo& info,
                       const std::vector<std::vector<int64_t>>& taskClasses,
                       const std::string& device);

// What a checkpoint must match to be restored into the model of a run: the method, its adapted
// maps and ranks, and the backbone's architecture. Kept in each checkpoint's state JSON.
nlohmann::json modelSignature(const Experiment& experiment, const BackboneArch& arch);

// Throws dlw::Error "checkpoint was made for ...; this run is ..." naming the first field of
// `expected` that the checkpoint state's "model" differs in. A state without "model" (written
// before this check existed) passes; the tensor names and shapes are checked on restore.
void checkModelSignature(const nlohmann::json& state, const nlohmann::json& expected);
// "method: \"seq-lora\" vs \"duallora\"; rank: 2 vs 4": each key of either signature whose
// values differ, in key order ("(none)" for a missing key); empty when they are equal.
std::string signatureDifferences(const nlohmann::json& first, const nlohmann::json& second);

// ContinualModel::restore with every failure a dlw::Error (a tensor of the wrong dtype, ...).
void restoreModel(ContinualModel& model,
                  const std::map<std::string, torch::Tensor>& tensors,
                  int tasksStarted,
                  int tasksDone);

}  // namespace dlw
