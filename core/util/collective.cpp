#include "util/collective.h"

#include "api/error.h"
#include "torch_compat.h"

#include <chrono>
#include <cstdlib>
#include <fmt/format.h>
#include <map>

#if DLW_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if DLW_C10D_NCCL
#include "util/collective_nccl.h"
#endif
#if DLW_C10D_GLOO || DLW_C10D_NCCL
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace dlw {
namespace {

#if DLW_C10D_GLOO || DLW_C10D_NCCL
// c10::Error carries a backtrace in what(); the user needs the first line of the reason.
std::string reasonOf(const std::exception& err) {
    std::string text;
    if (const auto* c10 = dynamic_cast<const c10::Error*>(&err)) {
        text = c10->what_without_backtrace();
    } else {
        text = err.what();
    }
    const auto eol = text.find('\n');
    return eol == std::string::npos ? text : text.substr(0, eol);
}

bool isLoopback(const std::string& host) {
    return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

class C10dCollective : public Collective {
public:
    // NCCL for a CUDA `device` where this build has it (collective_nccl.h), Gloo otherwise.
    C10dCollective(const DistributedOptions& options, const std::string& device)
        : rank_(options.rank)
        , size_(options.worldSize)
        , nccl_(DLW_C10D_NCCL && torch::Device(device).is_cuda())
        , collectiveDevice_(nccl_ ? torch::Device(device) : torch::Device(torch::kCPU)) {
        const auto timeout =
            std::chrono::milliseconds(static_cast<int64_t>(options.timeoutSeconds * 1000.0));
        // torchrun 2.x's own store where this LibTorch can read it; else rank 0 serves one, on
        // the port after torchrun's when torchrun holds MASTER_PORT (torch_compat.h).
        const bool besideAgent = options.agentStore && !DLW_READS_AGENT_STORE;
        const int port = !besideAgent                 ? options.masterPort
                         : options.masterPort < 65535 ? options.masterPort + 1
                                                      : options.masterPort - 1;
        const std::string where = fmt::format("{}:{}", options.masterAddr, port);
        try {
            c10d::TCPStoreOptions storeOptions;
            storeOptions.port = static_cast<std::uint16_t>(port);
            storeOptions.isServer = options.rank == 0 && (!options.agentStore || besideAgent);
            storeOptions.numWorkers = static_cast<std::size_t>(options.worldSize);
            storeOptions.waitWorkers = true;
            storeOptions.timeout = timeout;
            store_ = c10::make_intrusive<c10d::TCPStore>(options.masterAddr, storeOptions);
        } catch (const std::exception& err) {
            throw Error(fmt::format(
                "rank {} of {}: the process group's store at {} ({}) could not be reached "
                "(waiting up to {:g} s, DLW_DIST_TIMEOUT): {}{}",
                rank_, size_, where,
                besideAgent ? "MASTER_ADDR:MASTER_PORT + 1, beside torchrun's own store, which "
                              "LibTorch 1.13 cannot read"
                            : "MASTER_ADDR:MASTER_PORT",
                options.timeoutSeconds, reasonOf(err),
                options.rank == 0 && !(options.agentStore && !besideAgent)
                    ? " (rank 0 serves it: is the port in use?)"
                    : " (did rank 0 start, with the same dlw build, and is the address "
                      "reachable?)"));
        }
#if DLW_C10D_NCCL
        if (nccl_) {
            try {
                group_ = makeNcclBackend(store_, rank_, size_, timeout, collectiveDevice_.index());
            } catch (const std::exception& err) {
                throw Error(fmt::format(
                    "rank {} of {}: the {} ranks could not all join the NCCL process group on {} "
                    "(store {}; waiting up to {:g} s, DLW_DIST_TIMEOUT): {} (did every rank start, "
                    "each on a GPU of its own? NCCL_DEBUG=INFO says more)",
                    rank_, size_, size_, device, where, options.timeoutSeconds, reasonOf(err)));
            }
            return;
        }
#endif
#if DLW_C10D_GLOO
        try {
            auto glooOptions = c10d::ProcessGroupGloo::Options::create(timeout);
            // GLOO_SOCKET_IFNAME as PyTorch reads it; loopback for a run on one machine.
            const char* iface = std::getenv("GLOO_SOCKET_IFNAME");
            if (iface != nullptr && *iface != '\0') {
                glooOptions->devices.push_back(
                    c10d::ProcessGroupGloo::createDeviceForInterface(iface));
            } else if (isLoopback(options.masterAddr)) {
                glooOptions->devices.push_back(
                    c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
            } else {
                glooOptions->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
            }
            glooOptions->threads = 2;
            group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, rank_, size_, glooOptions);
        } catch (const std::exception& err) {
            throw Error(fmt::format(
                "rank {} of {}: the {} ranks could not all join the Gloo process group (store "
                "{}; waiting up to {:g} s, DLW_DIST_TIMEOUT): {} (did every rank start, with the "
                "same dlw build? GLOO_SOCKET_IFNAME names the network interface to use)",
                rank_, size_, size_, where, options.timeoutSeconds, reasonOf(err)));
        }
#endif
    }

    int rank() const override {
        return rank_;
    }
    int size() const override {
        return size_;
    }
    std::string backend() const override {
        return nccl_ ? "nccl" : "gloo";
    }

    void allReduceSum(std::vector<torch::Tensor>& tensors, const std::string& what) override {
        reduce(tensors, c10d::ReduceOp::SUM, what);
    }
    void allReduceMax(std::vector<torch::Tensor>& tensors, const std::string& what) override {
        reduce(tensors, c10d::ReduceOp::MAX, what);
    }

    void broadcast(std::vector<torch::Tensor>& tensors,
                   int root,
                   const std::string& what) override {
        forEachDtype(tensors, what, [&](std::vector<at::Tensor>& flat) {
            c10d::BroadcastOptions o;
            o.rootRank = root;
            pg()->broadcast(flat, o)->wait();
        });
    }

    std::vector<torch::Tensor> allGather(const torch::Tensor& tensor,
                                         const std::string& what) override {
        std::vector<at::Tensor> input{tensor.to(collectiveDevice_).contiguous()};
        std::vector<std::vector<at::Tensor>> output(1);
        for (int r = 0; r < size_; ++r) {
            output[0].push_back(torch::empty_like(input[0]));
        }
        guarded(what, [&] { pg()->allgather(output, input)->wait(); });
        std::vector<torch::Tensor> out;
        for (auto& t : output[0]) {
            out.push_back(t.to(tensor.device()));
        }
        return out;
    }

private:
    compat::C10dBackend* pg() {
        return group_.get();
    }

    template <typename F>
    void guarded(const std::string& what, F&& f) {
        try {
            f();
        } catch (const Error&) {
            throw;
        } catch (const std::exception& err) {
            throw Error(fmt::format(
                "rank {} of {}: {} over the process group ({}) failed: {}; another rank has "
                "probably stopped (its own output says why) or timed out (DLW_DIST_TIMEOUT)",
                rank_, size_, what, backend(), reasonOf(err)));
        }
    }

    // c10d's collectives take one tensor per device, so tensors of one dtype travel as one flat
    // buffer (on the CPU for Gloo, on the GPU for NCCL): one collective per dtype, whatever the
    // number of tensors.
    template <typename F>
    void forEachDtype(std::vector<torch::Tensor>& tensors, const std::string& what, F&& op) {
        std::map<int, std::vector<std::size_t>> byType;
        for (std::size_t i = 0; i < tensors.size(); ++i) {
            byType[static_cast<int>(tensors[i].scalar_type())].push_back(i);
        }
        for (const auto& [type, members] : byType) {
            std::vector<torch::Tensor> parts;
            for (std::size_t i : members) {
                parts.push_back(tensors[i].detach().to(collectiveDevice_).reshape({-1}));
            }
            std::vector<at::Tensor> flat{torch::cat(parts).contiguous()};
            guarded(what, [&] { op(flat); });
            int64_t offset = 0;
            for (std::size_t i : members) {
                auto& t = tensors[i];
                const int64_t n = t.numel();
                torch::NoGradGuard noGrad;
                t.copy_(flat[0].narrow(0, offset, n).view(t.sizes()));
                offset += n;
            }
        }
    }

    void reduce(std::vector<torch::Tensor>& tensors, c10d::ReduceOp op, const std::string& what) {
        forEachDtype(tensors, what, [&](std::vector<at::Tensor>& flat) {
            c10d::AllreduceOptions o;
            o.reduceOp = op;
            pg()->allreduce(flat, o)->wait();
        });
    }

    int rank_;
    int size_;
    bool nccl_;
    torch::Device collectiveDevice_;  // where the tensors of a collective must be
    c10::intrusive_ptr<c10d::Store> store_;
    c10::intrusive_ptr<compat::C10dBackend> group_;
};

#endif

}  // namespace

bool haveProcessGroups() {
    return DLW_C10D_GLOO != 0;
}

std::unique_ptr<Collective> joinProcessGroup(const DistributedOptions& options,
                                             const std::string& device) {
    const bool cuda = torch::Device(device).is_cuda();
#if DLW_C10D_GLOO || DLW_C10D_NCCL
    if (DLW_C10D_GLOO || cuda) {  // a build with NCCL alone serves CUDA devices only
        return std::make_unique<C10dCollective>(options, device);
    }
#endif
    throw Error(fmt::format(
        "rank {} of {}: this dlw was built against LibTorch {} without c10d's Gloo process "
        "group{}; build it where Debian's Gloo headers are (libgloo-dev: scripts/setup.sh "
        "installs it, scripts/carry-deps.sh carries them to a machine without Debian)",
        options.rank, options.worldSize, TORCH_VERSION,
        cuda ? " or NCCL" : (DLW_C10D_NCCL ? " (NCCL serves CUDA devices only)" : "")));
}

std::pair<int64_t, int64_t> shareOf(int64_t n, int rank, int size) {
    const int64_t base = n / size;
    const int64_t extra = n % size;
    const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
    return {begin, begin + base + (rank < extra ? 1 : 0)};
}

std::vector<int64_t> shareOf(const std::vector<int64_t>& all, const Collective* group) {
    if (group == nullptr) {
        return all;
    }
    const auto [begin, end] =
        shareOf(static_cast<int64_t>(all.size()), group->rank(), group->size());
    return {all.begin() + begin, all.begin() + end};
}

void allReduceSum(Collective* group, std::vector<torch::Tensor>& tensors, const std::string& what) {
    if (group != nullptr) {
        group->allReduceSum(tensors, what);
    }
}

void allReduceMax(Collective* group, std::vector<torch::Tensor>& tensors, const std::string& what) {
    if (group != nullptr) {
        group->allReduceMax(tensors, what);
    }
}

torch::Tensor gatherRows(Collective* group, const torch::Tensor& rows, const std::string& what) {
    if (group == nullptr) {
        return rows;
    }
    // Row counts first, then every rank's rows padded to the longest.
    const auto counts =
        group->allGather(torch::tensor({static_cast<int64_t>(rows.size(0))}, torch::kInt64), what);
    int64_t longest = 0;
    for (const auto& c : counts) {
        longest = std::max(longest, c.item<int64_t>());
    }
    auto shape = rows.sizes().vec();
    shape[0] = longest;
    auto padded = torch::zeros(shape, rows.options().device(torch::kCPU));
    if (rows.size(0) > 0) {
        padded.narrow(0, 0, rows.size(0)).copy_(rows);
    }
    const auto all = group->allGather(padded, what);
    std::vector<torch::Tensor> parts;
    for (std::size_t r = 0; r < all.size(); ++r) {
        parts.push_back(all[r].narrow(0, 0, counts[r].item<int64_t>()));
    }
    return torch::cat(parts).to(rows.device());
}

int64_t sumOver(Collective* group, int64_t value, const std::string& what) {
    std::vector<torch::Tensor> t{torch::tensor({value}, torch::kInt64)};
    allReduceSum(group, t, what);
    return t[0].item<int64_t>();
}

bool anyOf(Collective* group, bool value, const std::string& what) {
    std::vector<torch::Tensor> t{torch::tensor({value ? 1 : 0}, torch::kInt64)};
    allReduceMax(group, t, what);
    return t[0].item<int64_t>() != 0;
}

}  // namespace dlw
