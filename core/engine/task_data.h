#pragma once
// The data of one experiment cut into tasks (DESIGN §4): the dataset read once, the class
// sequence, and per task the training, validation and evaluation indices.

#include "api/backbone_info.h"
#include "api/experiment.h"
#include "data/batch_loader.h"
#include "data/dataset.h"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dlw {

struct TaskSplit {
    std::vector<int64_t> classes;  // global labels of the task, in order
    std::vector<int64_t> train;    // indices into TaskData::data.train
    std::vector<int64_t> val;      // indices into data.train, disjoint from `train`
    std::vector<int64_t> test;     // indices into data.test
};

struct TaskData {
    TrainTestData data;
    std::vector<TaskSplit> tasks;
    ImageTransform evalTransform;   // the backbone's input, no augmentation
    ImageTransform trainTransform;  // plus the experiment's augmentation
    // Evaluation images: the test set, or the validation cut when data.eval_split is "val".
    const ImageDataset& evalSet() const { return evalOnVal ? data.train : data.test; }
    const std::vector<int64_t>& evalIndices(int task) const {
        return evalOnVal ? tasks[static_cast<std::size_t>(task)].val
                         : tasks[static_cast<std::size_t>(task)].test;
    }
    bool evalOnVal = false;
    std::vector<std::string> classNames;  // of the dataset
    // Every file or record the run leaves out, with its reason (the readers' warnings and the
    // files the run would use that fail to decode).
    std::vector<LoadWarning> skipped;
    // What the run goes on with but the user should know, one line each, sent as Warning events
    // when it starts: a class of a task without a training image (#16).
    std::vector<std::string> warnings;
};

// Reads the dataset and cuts it; files decoded on demand that the run would use are decoded
// once, and those that fail are left out (TaskData::skipped). Throws dlw::Error naming data.root,
// sequence.* or the file for a missing dataset, more classes asked than the dataset has, or a task
// left without images.
TaskData prepareTaskData(const Experiment& experiment, const BackboneArch& arch);

// The run's split manifest (run_files::kSplit, #17): what a reader needs to rebuild each task's
// data without the program. Per task its classes (label and name), its domain when the
// sequence has domains, and its training, validation and test images: paths relative to
// data.root (absolute when outside it) for data read from files, else record numbers (0-based)
// in the train or test source file (the validation images come from the train source). Also the
// sources, the split the run evaluates on, and the files the run left out with why.
nlohmann::json splitManifest(const Experiment& experiment, const TaskData& data);

}  // namespace dlw
