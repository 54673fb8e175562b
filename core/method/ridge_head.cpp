#include "method/ridge_head.h"

#include "api/error.h"

#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <limits>

namespace dlw {

namespace {

constexpr int64_t kHeldOutEvery = 5;  // RanPAC's 80/20 rule without a validation split

torch::Tensor cat(const std::vector<torch::Tensor>& parts, const torch::Device& device) {
    std::vector<torch::Tensor> on;
    for (const auto& p : parts) {
        on.push_back(p.to(device));
    }
    return torch::cat(on, 0);
}

}  // namespace

RidgeHead::RidgeHead(int64_t featureDim,
                     int64_t projectionDim,
                     int64_t classes,
                     torch::Device device)
    : featureDim_(featureDim), projectionDim_(projectionDim), classes_(classes), device_(device) {
    if (featureDim <= 0 || projectionDim < 0 || classes <= 0) {
        throw Error(
            fmt::format("ridge head: feature size {}, projection {} and classes {} must "
                        "be positive (projection may be 0)",
                        featureDim, projectionDim, classes));
    }
    const int64_t m = projectionDim_ > 0 ? projectionDim_ : featureDim_;
    if (projectionDim_ > 0) {
        wRand_ = torch::randn({featureDim_, projectionDim_}).to(device_);
    }
    const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(device_);
    gram_ = torch::zeros({m, m}, f64);
    cross_ = torch::zeros({m, classes_}, f64);
    wOut_ = torch::zeros({m, classes_}, torch::TensorOptions().device(device_));
    reducedGram_ = gram_.clone();
    reducedCross_ = cross_.clone();
}

void RidgeHead::allReduceAdded(Collective* group, const std::string& what) {
    if (group == nullptr) {
        return;
    }
    std::vector<torch::Tensor> added{gram_ - reducedGram_, cross_ - reducedCross_};
    group->allReduceSum(added, what);
    torch::NoGradGuard noGrad;
    gram_.copy_(reducedGram_ + added[0]);
    cross_.copy_(reducedCross_ + added[1]);
    reducedGram_ = gram_.clone();
    reducedCross_ = cross_.clone();
}

std::vector<double> RidgeHead::lambdaGrid() {
    std::vector<double> grid;
    for (int e = -8; e <= 8; ++e) {
        grid.push_back(std::pow(10.0, e));
    }
    return grid;
}

torch::Tensor RidgeHead::project(const torch::Tensor& features) const {
    const auto f = features.to(device_, torch::kFloat32);
    if (f.dim() != 2 || f.size(1) != featureDim_) {
        throw Error(fmt::format("ridge head: features of shape [{}], expected [B, {}]",
                                fmt::join(f.sizes(), ", "), featureDim_));
    }
    return projectionDim_ > 0 ? torch::relu(torch::matmul(f, wRand_)) : f;
}

void RidgeHead::add(const torch::Tensor& projected, const torch::Tensor& columns) {
    const auto h = projected.to(device_, torch::kFloat32);
    const auto y = torch::one_hot(columns.to(device_, torch::kInt64), classes_).to(torch::kFloat32);
    // Each batch's products in float32 (as RanPAC), summed over the run in float64.
    gram_.add_(torch::matmul(h.t(), h).to(torch::kFloat64));
    cross_.add_(torch::matmul(h.t(), y).to(torch::kFloat64));
}

RidgeHead::Fit RidgeHead::fit(const std::vector<torch::Tensor>& heldOut,
                              const std::vector<torch::Tensor>& heldOutColumns,
                              const std::vector<torch::Tensor>& current,
                              const std::vector<torch::Tensor>& currentColumns,
                              int64_t seenClasses) {
    torch::NoGradGuard noGrad;
    if (seenClasses <= 0 || seenClasses > classes_) {
        throw Error(fmt::format("ridge head: {} classes seen of {}", seenClasses, classes_));
    }
    if (!(gram_.trace().item<double>() > 0)) {
        throw Error("ridge head: no image was added before the fit");
    }
    Fit out;
    torch::Tensor fitGram = gram_;
    torch::Tensor fitCross = cross_;
    torch::Tensor h;
    torch::Tensor cols;
    if (!heldOut.empty()) {
        h = cat(heldOut, device_).to(torch::kFloat64);
        cols = cat(heldOutColumns, device_).to(torch::kInt64);
    } else {  // RanPAC's rule: fit on 80 % of the task's images, measure on the other 20 %
        out.validationSplit = false;
        const auto all = cat(current, device_).to(torch::kFloat64);
        const auto allCols = cat(currentColumns, device_).to(torch::kInt64);
        const int64_t n = all.size(0);
        if (n < kHeldOutEvery) {
            throw Error(fmt::format(
                "ridge head: choosing lambda without a validation split needs at least {} "
                "training images in a task, found {}",
                kHeldOutEvery, n));
        }
        // Every fifth image held out (RanPAC takes the last 20 % of a shuffled loader; images
        // here come grouped by class, so a stride keeps both parts balanced).
        const auto index = torch::arange(n, torch::TensorOptions().device(device_));
        const auto held = index.remainder(kHeldOutEvery).eq(kHeldOutEvery - 1);
        const auto fitPart = all.index({held.logical_not()});
        fitGram = torch::matmul(fitPart.t(), fitPart);
        fitCross = torch::matmul(
            fitPart.t(),
            torch::one_hot(allCols.index({held.logical_not()}), classes_).to(torch::kFloat64));
        h = all.index({held});
        cols = allCols.index({held});
    }
    out.heldOut = h.size(0);
    // One eigendecomposition serves every λ: (G + λI)⁻¹ C = Q diag(1 / (e + λ)) Qᵀ C.
    auto [values, vectors] = at::linalg_eigh(fitGram, "L");
    values = values.clamp_min(0);
    const auto p = torch::matmul(vectors.t(), fitCross.narrow(1, 0, seenClasses));  // [M', k]
    const auto z = torch::matmul(h, vectors);                                       // [n, M']
    const auto y = torch::one_hot(cols, seenClasses).to(torch::kFloat64);
    double best = std::numeric_limits<double>::infinity();
    for (double lambda : lambdaGrid()) {
        const auto pred = torch::matmul(z / (values + lambda), p);
        const double mse = (pred - y).pow(2).mean().item<double>();
        if (mse < best) {  // the first of equals, as RanPAC's argmin
            best = mse;
            out.lambda = lambda;
        }
    }
    out.heldOutMse = best;
    const int64_t m = gram_.size(0);
    const auto eye = torch::eye(m, gram_.options());
    const auto w = at::linalg_solve(gram_ + out.lambda * eye, cross_);  // [M', K]
    wOut_ = w.to(torch::kFloat32);
    // Temperature: the NLL of softmax(s / T) on the held-out images, over a log grid.
    const auto s = torch::matmul(h, w.narrow(1, 0, seenClasses));  // [n, k]
    const auto truth = s.gather(1, cols.unsqueeze(1)).squeeze(1);
    double bestNll = std::numeric_limits<double>::infinity();
    for (int i = 0; i <= 80; ++i) {
        const double t = std::pow(10.0, -3.0 + 4.0 * i / 80.0);  // 10⁻³ … 10
        const double nll = (torch::logsumexp(s / t, 1) - truth / t).mean().item<double>();
        if (nll < bestNll) {
            bestNll = nll;
            out.temperature = t;
        }
    }
    lambda_ = out.lambda;
    temperature_ = out.temperature;
    return out;
}

torch::Tensor RidgeHead::scores(const torch::Tensor& projected, int64_t seenClasses) const {
    return torch::matmul(projected.to(device_, torch::kFloat32), wOut_.narrow(1, 0, seenClasses));
}

int64_t RidgeHead::parameterCount() const {
    return wOut_.numel();
}

std::vector<std::pair<std::string, torch::Tensor>> RidgeHead::state(
    const std::string& prefix) const {
    std::vector<std::pair<std::string, torch::Tensor>> out;
    if (wRand_.defined()) {
        out.emplace_back(prefix + "W_rand", wRand_);
    }
    out.emplace_back(prefix + "G", gram_);
    out.emplace_back(prefix + "C", cross_);
    out.emplace_back(prefix + "W_o", wOut_);
    out.emplace_back(prefix + "lambda_temperature",
                     torch::tensor({lambda_, temperature_}, torch::kFloat64));
    return out;
}

void RidgeHead::restore(const std::map<std::string, torch::Tensor>& tensors,
                        const std::string& prefix) {
    torch::NoGradGuard noGrad;
    auto into = [&](torch::Tensor& to, const std::string& name) {
        const auto it = tensors.find(prefix + name);
        if (it == tensors.end()) {
            throw Error(fmt::format("checkpoint lacks tensor '{}{}'", prefix, name));
        }
        if (it->second.sizes() != to.sizes()) {
            throw Error(fmt::format("checkpoint tensor '{}{}' has shape [{}], the model needs [{}]",
                                    prefix, name, fmt::join(it->second.sizes(), ", "),
                                    fmt::join(to.sizes(), ", ")));
        }
        to.copy_(it->second);
    };
    if (wRand_.defined()) {
        into(wRand_, "W_rand");
    }
    into(gram_, "G");
    into(cross_, "C");
    into(wOut_, "W_o");
    auto scalars = torch::zeros({2}, torch::kFloat64);
    into(scalars, "lambda_temperature");
    lambda_ = scalars[0].item<double>();
    temperature_ = scalars[1].item<double>();
    if (!(temperature_ > 0) || !(lambda_ >= 0)) {
        throw Error(
            fmt::format("checkpoint tensor '{}lambda_temperature' holds lambda {} and "
                        "temperature {}: the file is damaged",
                        prefix, lambda_, temperature_));
    }
    reducedGram_ = gram_.clone();
    reducedCross_ = cross_.clone();
}

}  // namespace dlw
