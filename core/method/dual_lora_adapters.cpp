#include "method/dual_lora_adapters.h"

#include "api/error.h"
#include "method/subspace_memory.h"
#include "model/lora.h"

#include <fmt/format.h>

namespace dlw {

DualLoraAdaptersImpl::DualLoraAdaptersImpl(const BackboneArch& arch, AdapterLayout layout)
    : arch_(arch)
    , layout_(std::move(layout))
    , index_(static_cast<std::size_t>(arch.depth) * 6, -1) {
    if (layout_.orthogonalRank < 0 || layout_.residualRank < 0 ||
        layout_.orthogonalRank + layout_.residualRank == 0) {
        throw Error("adapters need an orthogonal rank, a residual rank, or both, > 0");
    }
    for (int block : layout_.blocks) {
        if (block < 0 || block >= arch.depth) {
            throw Error(fmt::format("adapted block {} does not exist (the backbone has {} blocks)",
                                    block, arch.depth));
        }
        for (AdaptedMap map : layout_.maps) {
            const auto [dIn, dOut] = mapShape(arch, map);
            if (std::max(layout_.orthogonalRank, layout_.residualRank) > std::min(dIn, dOut)) {
                throw Error(fmt::format("adapter rank {} exceeds map {} of block {} ({}x{})",
                                        std::max(layout_.orthogonalRank, layout_.residualRank),
                                        toString(map), block, dOut, dIn));
            }
            index_[static_cast<std::size_t>(block) * 6 + static_cast<std::size_t>(map)] =
                static_cast<int>(sites_.size());
            sites_.push_back({block, map});
            Site s;
            if (layout_.orthogonalRank > 0) {
                // Module parameter names cannot contain dots: "b3_k_A_O".
                const std::string name = fmt::format("b{}_{}", block, toString(map));
                const double bound = 1.0 / std::sqrt(static_cast<double>(dIn));
                s.a = register_parameter(
                    name + "_A_O",
                    torch::empty({layout_.orthogonalRank, dIn}).uniform_(-bound, bound));
                s.b =
                    register_parameter(name + "_B_O", torch::zeros({dOut, layout_.orthogonalRank}));
            }
            state_.push_back(std::move(s));
        }
    }
}

DualLoraAdaptersImpl::Site* DualLoraAdaptersImpl::find(int block, AdaptedMap map) {
    const int i = index_[static_cast<std::size_t>(block) * 6 + static_cast<std::size_t>(map)];
    return i < 0 ? nullptr : &state_[static_cast<std::size_t>(i)];
}

DualLoraAdaptersImpl::Site& DualLoraAdaptersImpl::site(int block, AdaptedMap map) {
    Site* s = find(block, map);
    if (s == nullptr) {
        throw Error(fmt::format("no adapter on map {} of block {}", toString(map), block));
    }
    return *s;
}

torch::Tensor DualLoraAdaptersImpl::delta(int block, AdaptedMap map, const torch::Tensor& x) {
    Site* s = find(block, map);
    if (s == nullptr) {
        return {};
    }
    // Both adapters as one low-rank product (eq. 1), two matmuls instead of four and an add:
    // x [A_Oᵀ | U_1..U_T | SD-LoRA in's] → [B, N, r_O + T·r_R + P·r], residual columns gated,
    // · [B_O | V_1..V_T | α_i out_i]ᵀ.
    if (!s->a.defined() && s->u.empty() && s->dirIn.empty()) {
        return {};
    }
    const bool grad = torch::GradMode::is_enabled();
    std::vector<int64_t> versions;
    if (!grad) {
        if (s->a.defined()) {
            versions = {s->a._version(), s->b._version()};
        }
        for (const auto& v : s->v) {
            versions.push_back(v._version());
        }
        for (const auto& m : s->magnitude) {
            versions.push_back(m._version());
        }
    }
    torch::Tensor joinedIn = s->joinedIn;
    torch::Tensor joinedOut = s->joinedOut;
    if (grad || versions != s->joinedVersions || !joinedIn.defined()) {
        std::vector<torch::Tensor> in;
        std::vector<torch::Tensor> out;
        if (s->a.defined()) {
            in.push_back(s->a.t());
            out.push_back(s->b);
        }
        if (!s->u.empty()) {
            in.push_back(s->uAll);
            out.insert(out.end(), s->v.begin(), s->v.end());
        }
        for (std::size_t i = 0; i < s->dirIn.size(); ++i) {
            in.push_back(s->dirIn[i]);
            out.push_back(s->dirOut[i] * s->magnitude[i]);
        }
        auto join = [](const std::vector<torch::Tensor>& parts) {
            return parts.size() == 1 ? parts[0] : torch::cat(parts, 1);
        };
        joinedIn = join(in);        // [d_in, r_O + T·r_R + P·r]
        joinedOut = join(out).t();  // [r_O + T·r_R + P·r, d_out]
        if (!grad) {
            s->joinedIn = joinedIn;
            s->joinedOut = joinedOut;
            s->joinedVersions = std::move(versions);
        }
    }
    auto h = torch::matmul(x, joinedIn);  // [B, N, r_O + T·r_R + P·r]
    if (gate_.defined() && !s->u.empty()) {
        std::vector<torch::Tensor> g;
        if (s->a.defined()) {
            g.push_back(torch::ones({gate_.size(0), s->a.size(0)}, gate_.options()));
        }
        g.push_back(gate_.repeat_interleave(layout_.residualRank, 1));
        for (const auto& in : s->dirIn) {
            g.push_back(torch::ones({gate_.size(0), in.size(1)}, gate_.options()));
        }
        h = h * (g.size() == 1 ? g[0] : torch::cat(g, 1)).unsqueeze(1);
    }
    return torch::matmul(h, joinedOut);  // [B, N, d_out]
}

torch::Tensor& DualLoraAdaptersImpl::orthogonalA(const AdapterSite& s) {
    return site(s.block, s.map).a;
}
torch::Tensor& DualLoraAdaptersImpl::orthogonalB(const AdapterSite& s) {
    return site(s.block, s.map).b;
}

torch::Tensor& DualLoraAdaptersImpl::residualU(const AdapterSite& s, int task) {
    return site(s.block, s.map).u.at(static_cast<std::size_t>(task));
}

torch::Tensor& DualLoraAdaptersImpl::residualV(const AdapterSite& s, int task) {
    return site(s.block, s.map).v.at(static_cast<std::size_t>(task));
}

int DualLoraAdaptersImpl::decoupledPieces() const {
    return state_.empty() ? 0 : static_cast<int>(state_.front().dirIn.size());
}

const torch::Tensor& DualLoraAdaptersImpl::directionIn(const AdapterSite& s, int piece) {
    return site(s.block, s.map).dirIn.at(static_cast<std::size_t>(piece));
}
const torch::Tensor& DualLoraAdaptersImpl::directionOut(const AdapterSite& s, int piece) {
    return site(s.block, s.map).dirOut.at(static_cast<std::size_t>(piece));
}
torch::Tensor& DualLoraAdaptersImpl::magnitude(const AdapterSite& s, int piece) {
    return site(s.block, s.map).magnitude.at(static_cast<std::size_t>(piece));
}

void DualLoraAdaptersImpl::freezeIntoDirections() {
    torch::NoGradGuard noGrad;
    const int piece = decoupledPieces();
    for (std::size_t i = 0; i < sites_.size(); ++i) {
        Site& s = state_[i];
        // ||B A||_F² = tr((BᵀB)(A Aᵀ)): r×r products instead of the d_out×d_in update.
        const double norm = std::sqrt(std::max(
            0.0,
            torch::trace(torch::matmul(torch::matmul(s.b.t(), s.b), torch::matmul(s.a, s.a.t())))
                .item<double>()));
        const bool zero = !(norm > 1e-12);  // a LoRA that never moved: no direction to keep
        const std::string name =
            fmt::format("b{}_{}_{}", sites_[i].block, toString(sites_[i].map), piece);
        s.dirIn.push_back(register_buffer(name + "_Din", s.a.t().detach().clone().contiguous()));
        s.dirOut.push_back(register_buffer(
            name + "_Dout", zero ? torch::zeros_like(s.b) : (s.b.detach() / norm).contiguous()));
        s.magnitude.push_back(register_parameter(
            name + "_alpha", torch::full({1}, zero ? 0.0 : norm, s.b.options())));
        const double bound = 1.0 / std::sqrt(static_cast<double>(s.a.size(1)));
        s.a.uniform_(-bound, bound);  // a fresh LoRA for the new task, as at construction
        s.b.zero_();
    }
}

void DualLoraAdaptersImpl::beginTask(const std::vector<torch::Tensor>& bases) {
    if (layout_.decoupled && tasks_ > 0) {
        freezeIntoDirections();
    }
    if (layout_.residualRank == 0) {
        ++tasks_;
        return;
    }
    if (bases.size() != sites_.size()) {
        throw Error(
            fmt::format("beginTask: {} bases for {} adapter sites", bases.size(), sites_.size()));
    }
    for (std::size_t i = 0; i < sites_.size(); ++i) {
        Site& s = state_[i];
        for (auto& v : s.v) {
            v.set_requires_grad(false);
        }
        const auto [dIn, dOut] = mapShape(arch_, sites_[i].map);
        const std::string name =
            fmt::format("b{}_{}_{}", sites_[i].block, toString(sites_[i].map), tasks_);
        s.u.push_back(register_buffer(name + "_U", bases[i].detach().clone()));
        s.v.push_back(register_parameter(name + "_V", torch::zeros({dOut, layout_.residualRank})));
        s.uAll = torch::cat(s.u, 1);
    }
    ++tasks_;
}

std::vector<torch::Tensor> DualLoraAdaptersImpl::trainableParameters() {
    std::vector<torch::Tensor> out;
    for (Site& s : state_) {
        if (s.a.defined()) {
            out.push_back(s.a);
            out.push_back(s.b);
        }
        if (!s.v.empty()) {
            out.push_back(s.v.back());
        }
        out.insert(out.end(), s.magnitude.begin(), s.magnitude.end());
    }
    return out;
}

std::vector<torch::Tensor> DualLoraAdaptersImpl::snapshotOrthogonal() {
    std::vector<torch::Tensor> out;
    for (Site& s : state_) {
        if (s.a.defined()) {
            out.push_back(s.a.detach().clone());
            out.push_back(s.b.detach().clone());
        }
    }
    return out;
}

void DualLoraAdaptersImpl::projectOrthogonalUpdate(
    const std::vector<torch::Tensor>& before,
    const std::function<const SubspaceMemory&(const AdapterSite&)>& memoryOf,
    bool projectB) {
    torch::NoGradGuard noGrad;
    std::size_t k = 0;
    for (std::size_t i = 0; i < state_.size(); ++i) {
        Site& s = state_[i];
        if (!s.a.defined()) {
            continue;
        }
        const torch::Tensor& aOld = before.at(k++);
        const torch::Tensor& bOld = before.at(k++);
        const SubspaceMemory& memory = memoryOf(sites_[i]);
        if (memory.size() == 0) {
            continue;
        }
        s.a.copy_(aOld + memory.removeFromRows(s.a - aOld));  // ΔA_O (I − MMᵀ)
        if (projectB) {
            auto am = torch::matmul(aOld, memory.basis().to(aOld.device()));  // [r_O, k]
            auto q = std::get<0>(at::linalg_qr(am, "reduced"));               // [r_O, min(r_O, k)]
            auto db = s.b - bOld;                                             // [d_out, r_O]
            s.b.copy_(bOld + db - torch::matmul(torch::matmul(db, q), q.t()));  // ΔB (I − QQᵀ)
        }
    }
}

}  // namespace dlw
