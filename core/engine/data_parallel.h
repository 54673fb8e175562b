#pragma once
// The parts of a data-parallel run (#18) that belong to the run rather than to the model: the
// training step's gradient sum, a resumed run's checkpoint on every rank, and the check that
// every rank runs the same experiment. The model's own sums are ContinualModel::setGroup's.

#include "util/collective.h"

#include <functional>
#include <map>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace dlw {

// After this rank's backward pass over its share of a global batch of N images (its loss being
// Σ ℓ_i / N over its share, so that the shares add up to the batch mean): sums the gradients of
// `optimizer`'s parameters over the ranks, so that every rank takes the step one process takes
// on the whole batch. `loss` becomes the batch mean on every rank. A parameter that has a
// gradient on no rank keeps none, as in one process; one that has it on some gets the sum.
// Returns whether any rank's `stopWanted` was set: every rank then stops after the same step.
bool sumGradients(Collective& group,
                  torch::optim::Optimizer& optimizer,
                  torch::Tensor& loss,
                  bool stopWanted,
                  const std::string& what);

// Rank 0's `read()` on every rank: its checkpoint state and tensors travel as one JSON header
// (state, tensor names, dtypes and shapes) and the tensors themselves. When read() throws a
// dlw::Error on rank 0, every rank throws it (others say "rank 0: ..."), so a damaged
// checkpoint stops the whole run with one message.
using Checkpoint = std::pair<nlohmann::json, std::map<std::string, torch::Tensor>>;
Checkpoint shareCheckpoint(Collective& group, const std::function<Checkpoint()>& read);

// Rank 0's text on every rank.
std::string shareText(Collective& group, const std::string& text, const std::string& what);

// Runs `f` on rank 0 only, then makes its dlw::Error every rank's (others: "rank 0: ...").
void onRankZero(Collective& group, const std::string& what, const std::function<void()>& f);

// Throws dlw::Error on every rank unless every rank's `experimentJson` (the resolved
// experiment without what may differ between ranks: threads, device) equals rank 0's, naming
// the first rank that differs.
void checkSameExperiment(Collective& group, const std::string& experimentJson);

}  // namespace dlw
