#pragma once
// The process group of a data-parallel run (#18): LibTorch's c10d (a TCPStore at rank 0, then
// ProcessGroupGloo, or ProcessGroupNCCL for CUDA tensors where this LibTorch has it), behind the
// few collectives the engine needs, each turning a failure or a timeout into a dlw::Error that
// names the collective and the rank. Single-process code passes a null Collective* and calls
// the free helpers below, which are then no-ops.

#include "api/distributed.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace dlw {

class Collective {
public:
    virtual ~Collective() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    // "gloo" or "nccl".
    virtual std::string backend() const = 0;
    // Element-wise sum over the ranks, in place. Every rank passes tensors of the same shapes
    // and dtypes in the same order; on return every rank holds the same values. `what` names
    // the step in an error ("the gradients of task 2, step 15").
    virtual void allReduceSum(std::vector<torch::Tensor>& tensors, const std::string& what) = 0;
    // Element-wise maximum over the ranks, in place (the same rules).
    virtual void allReduceMax(std::vector<torch::Tensor>& tensors, const std::string& what) = 0;
    // `root`'s tensors into every rank's, in place (same shapes and dtypes everywhere).
    virtual void broadcast(std::vector<torch::Tensor>& tensors,
                           int root,
                           const std::string& what) = 0;
    // Every rank's `tensor` (same shape everywhere), in rank order.
    virtual std::vector<torch::Tensor> allGather(const torch::Tensor& tensor,
                                                 const std::string& what) = 0;
};

// Joins the process group `options` describe: rank 0 serves the TCPStore at
// masterAddr:masterPort, every rank waits up to options.timeoutSeconds for the others. NCCL
// when `device` is a CUDA device and this LibTorch has NCCL, else Gloo (CUDA tensors then pass
// through the CPU). Throws dlw::Error naming the address and the reason (a port in use, a rank
// that never came, no route).
std::unique_ptr<Collective> joinProcessGroup(const DistributedOptions& options,
                                             const std::string& device);
// Whether this build has c10d's Gloo process group (torch_compat.h DLW_C10D_GLOO); without it
// (and without NCCL for a CUDA device) joinProcessGroup throws a dlw::Error saying so.
bool haveProcessGroups();

// [begin, end) of rank `rank`'s contiguous share of n items over `size` ranks: the first
// n % size ranks take one more. Shares in rank order cover 0..n in order, so a gather in rank
// order restores the original order.
std::pair<int64_t, int64_t> shareOf(int64_t n, int rank, int size);
// The items of `all` in shareOf(all.size(), ...); all of them without a group.
std::vector<int64_t> shareOf(const std::vector<int64_t>& all, const Collective* group);

// The helpers: with a null group they leave the tensors as they are.
void allReduceSum(Collective* group, std::vector<torch::Tensor>& tensors, const std::string& what);
void allReduceMax(Collective* group, std::vector<torch::Tensor>& tensors, const std::string& what);
// Every rank's `rows` [n_r, ...] (n_r may differ, also 0; the trailing shape and dtype may not)
// concatenated in rank order on rows' device; `rows` itself without a group.
torch::Tensor gatherRows(Collective* group, const torch::Tensor& rows, const std::string& what);
// The sum over the ranks of one count.
int64_t sumOver(Collective* group, int64_t value, const std::string& what);
// Whether any rank says true.
bool anyOf(Collective* group, bool value, const std::string& what);

}  // namespace dlw
