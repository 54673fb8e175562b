#include "engine/continual_model.h"

#include "api/error.h"
#include "model/lora.h"
#include "torch_compat.h"

#include <algorithm>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <limits>

namespace dlw {

MethodPlan planMethod(const Experiment& e, const BackboneArch& arch) {
    MethodPlan p;
    p.kind = e.method.name;
    for (const auto& t : e.method.targets) {
        p.layout.maps.push_back(parseAdaptedMap(t));
    }
    p.layout.blocks = effectiveAdaptedBlocks(e, arch.depth);
    p.basisScale = e.method.basisScale;
    p.projectB = e.method.projectB;
    switch (p.kind) {
        case MethodKind::DualLora:
            p.layout.orthogonalRank = e.method.orthogonal ? e.method.rank : 0;
            p.layout.residualRank = e.method.residualRank;
            p.subspaceMemory = true;
            p.projectOrthogonal = e.method.orthogonal;
            p.eigenInitOrthogonal = true;
            break;
        case MethodKind::InfLora:
            p.layout.orthogonalRank = 0;
            p.layout.residualRank = e.method.rank;
            p.subspaceMemory = true;
            break;
        case MethodKind::SeqLora:
        case MethodKind::Joint:
            p.layout.orthogonalRank = e.method.rank;
            p.layout.residualRank = 0;
            break;
        case MethodKind::SdLora:  // the orthogonal slot is each task's fresh, free LoRA
            p.layout.orthogonalRank = e.method.rank;
            p.layout.residualRank = 0;
            p.layout.decoupled = true;
            break;
        case MethodKind::RanPac:
            p.layout.orthogonalRank = e.method.rank;
            p.layout.residualRank = 0;
            p.ranpacDim = e.method.ranpacDim;
            p.ranpacAdaptFirst = e.method.ranpacAdaptFirst;
            if (!p.ranpacAdaptFirst) {  // the pre-trained features as they are
                p.layout.blocks.clear();
            }
            break;
    }
    p.taskId = effectiveTaskIdMode(e);
    p.feature = e.taskId.feature;
    p.featureBlock = effectiveTaskIdBlock(e, arch.depth);
    p.lambda = e.taskId.lambda;
    p.tau = e.taskId.tau;
    p.taskIdProjection = e.taskId.projection;
    p.gate = e.method.gate;
    if (p.taskId == TaskIdMode::Lda && p.feature != TaskIdFeature::ClsFrozenPass &&
        !p.layout.blocks.empty() && p.layout.blocks.front() < p.featureBlock) {
        throw Error(
            fmt::format("method.blocks: block {} is adapted but the task feature is read "
                        "at the input of block {} (task_id.block), so it would drift; "
                        "adapt only blocks >= {} or use task_id.feature "
                        "\"cls_frozen_pass\"",
                        p.layout.blocks.front(), p.featureBlock, p.featureBlock));
    }
    if (p.taskId != TaskIdMode::Lda && p.feature != TaskIdFeature::ClsFrozenPass &&
        !p.layout.blocks.empty() && p.layout.blocks.front() < p.featureBlock) {
        // Without task identity h serves only the familiarity memory (Prediction::ood): read
        // it where no adapter acts, as block l_f's input would drift here.
        p.feature = TaskIdFeature::ClsFrozenPass;
    }
    return p;
}

ContinualModel::ContinualModel(VisionTransformer backbone,
                               MethodPlan plan,
                               std::vector<std::vector<int64_t>> taskClasses,
                               torch::Device device)
    : backbone_(std::move(backbone))
    , plan_(std::move(plan))
    , taskClasses_(std::move(taskClasses))
    , device_(device) {
    backbone_->to(device_);
    backbone_->eval();
    adapters_ = DualLoraAdapters(backbone_->arch(), plan_.layout);
    adapters_->to(device_);
    if (plan_.subspaceMemory) {
        for (const auto& key : memoryKeys()) {
            const AdaptedMap any = [&] {
                for (AdaptedMap m : plan_.layout.maps) {
                    if (inputOf(m) == key.second) {
                        return m;
                    }
                }
                return plan_.layout.maps.front();
            }();
            memories_.emplace(key, SubspaceMemory(mapShape(backbone_->arch(), any).first));
        }
    }
    if (plan_.taskId == TaskIdMode::Lda) {
        int64_t dim = featureDim();
        if (plan_.taskIdProjection > 0) {  // drawn from the caller's seeded generator
            taskIdProjection_ = torch::randn({dim, plan_.taskIdProjection}).to(device_);
            dim = plan_.taskIdProjection;
        }
        statistics_ = std::make_unique<StatisticsMemory>(dim, plan_.lambda);
    }
    familiarity_ = std::make_unique<StatisticsMemory>(featureDim(), plan_.lambda);
    int64_t classes = 0;
    int64_t maxLabel = -1;
    for (const auto& t : taskClasses_) {
        classes += static_cast<int64_t>(t.size());
        for (int64_t c : t) {
            maxLabel = std::max(maxLabel, c);
        }
    }
    labelColumn_ = torch::full({maxLabel + 1}, -1, torch::kInt64);
    int64_t column = 0;
    for (const auto& t : taskClasses_) {
        for (int64_t c : t) {
            labelColumn_[c] = column++;
        }
    }
    if (plan_.kind == MethodKind::RanPac) {  // W_rand from the caller's seeded generator
        ridge_ =
            std::make_unique<RidgeHead>(backbone_->arch().width, plan_.ranpacDim, classes, device_);
    }
}

int64_t ContinualModel::inputWidth(const InputKey& key) const {
    return key.second == MapInput::MlpHidden ? backbone_->arch().mlpHidden
                                             : backbone_->arch().width;
}

int64_t ContinualModel::featureDim() const {
    const int64_t width = backbone_->arch().width;
    return plan_.feature == TaskIdFeature::BlockInputAndCls ? 2 * width : width;
}

torch::Tensor ContinualModel::taskIdInput(const torch::Tensor& h) const {
    const auto f = h.to(torch::kFloat32);
    return taskIdProjection_.defined() ? torch::relu(torch::matmul(f, taskIdProjection_)) : f;
}

bool ContinualModel::trainsTask(int task) const {
    return plan_.kind != MethodKind::RanPac || (task == 0 && plan_.ranpacAdaptFirst);
}

bool ContinualModel::hasHead(int task) const {
    return trainsTask(task);
}

int64_t ContinualModel::seenClassCount() const {
    int64_t n = 0;
    for (int t = 0; t < started_; ++t) {
        n += static_cast<int64_t>(taskClasses_[static_cast<std::size_t>(t)].size());
    }
    return n;
}

torch::Tensor ContinualModel::columnsOf(const torch::Tensor& labels) const {
    const auto l = labels.to(torch::kCPU, torch::kInt64);
    if (l.numel() > 0 &&
        (l.min().item<int64_t>() < 0 || l.max().item<int64_t>() >= labelColumn_.size(0))) {
        throw Error("a label outside the sequence's classes reached the ridge head");
    }
    auto cols = labelColumn_.index_select(0, l.flatten());
    if (cols.numel() > 0 && cols.min().item<int64_t>() < 0) {
        throw Error("a label outside the sequence's classes reached the ridge head");
    }
    return cols;
}

std::vector<InputKey> ContinualModel::memoryKeys() const {
    std::vector<InputKey> keys;
    for (const auto& site : adapters_->sites()) {
        InputKey k{site.block, inputOf(site.map)};
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
            keys.push_back(k);
        }
    }
    return keys;
}

SubspaceMemory& ContinualModel::memoryOf(const AdapterSite& site) {
    return memories_.at({site.block, inputOf(site.map)});
}

const StatisticsMemory::TaskColumns& ContinualModel::seenTaskColumns() {
    if (seenColumnsTasks_ != tasksStarted()) {
        seenColumns_ = statistics_->taskColumns(std::vector<std::vector<int64_t>>(
            taskClasses_.begin(), taskClasses_.begin() + tasksStarted()));
        seenColumnsTasks_ = tasksStarted();
    }
    return seenColumns_;
}

bool ContinualModel::hasFrozenPrefix() const {
    return prefixBlocks() > 0 && (!hasFeature() || (plan_.feature != TaskIdFeature::ClsFrozenPass &&
                                                    plan_.featureBlock == prefixBlocks()));
}

torch::Tensor ContinualModel::frozenPrefix(const torch::Tensor& images) {
    if (!hasFrozenPrefix()) {
        throw Error("this method has no frozen prefix that can stand in for the images");
    }
    torch::NoGradGuard noGrad;
    return atFirstAdapted(images, false);
}

void ContinualModel::checkPrefixed(const char* caller, bool prefixed) const {
    if (prefixed && !hasFrozenPrefix()) {
        throw Error(
            fmt::format("{}: prefixed batches for a method without a frozen prefix", caller));
    }
}

torch::Tensor ContinualModel::atFirstAdapted(const torch::Tensor& batch, bool prefixed) {
    const auto x = batch.to(device_);
    if (prefixed) {
        return x;
    }
    return backbone_->runBlocks(backbone_->embedTokens(x), 0, prefixBlocks(), ForwardOptions{});
}

torch::Tensor ContinualModel::adaptedFeatures(const torch::Tensor& batch,
                                              bool prefixed,
                                              const ForwardOptions& options) {
    return backbone_->pool(backbone_->runBlocks(atFirstAdapted(batch, prefixed), prefixBlocks(),
                                                backbone_->arch().depth, options));
}

std::vector<std::string> ContinualModel::beginTask(const std::vector<torch::Tensor>& batches,
                                                   bool prefixed) {
    checkPrefixed("beginTask", prefixed);
    std::vector<std::string> warnings;
    const int task = tasksStarted();
    const bool eigenInit =
        plan_.eigenInitOrthogonal && task == 0 && plan_.layout.orthogonalRank > 0;
    std::vector<torch::Tensor> bases;
    if (plan_.layout.residualRank > 0 || eigenInit) {
        CovarianceObserver observer(memoryKeys());  // eq. 2, with the model as it is now
        ForwardOptions o;
        o.adapters = adapters_.get();
        o.observer = &observer;
        adapters_->setGate({});
        torch::NoGradGuard noGrad;
        prePass(batches, prefixed, o);
        observer.allReduce(
            group_, [this](const InputKey& key) { return inputWidth(key); },
            fmt::format("the covariance pre-pass of task {}", task + 1));
        SubspaceMemory empty(0);
        std::map<InputKey, torch::Tensor> keyBases;
        for (const auto& site : adapters_->sites()) {
            const InputKey key{site.block, inputOf(site.map)};
            const torch::Tensor cov = observer.covariance(key);
            SubspaceMemory& memory = plan_.subspaceMemory ? memoryOf(site) : empty;
            if (eigenInit) {  // A_O = top-r_O eigenvectors of task 1's covariance, scaled
                SubspaceMemory fresh(cov.size(0));
                auto top = fresh.taskBases(cov, plan_.layout.orthogonalRank) * plan_.basisScale;
                torch::NoGradGuard g;
                adapters_->orthogonalA(site).copy_(top.t().to(device_));
            }
            if (plan_.layout.residualRank > 0) {
                int64_t rank = plan_.layout.residualRank;
                const int64_t free = memory.dim() - memory.size();
                if (rank > free) {
                    warnings.push_back(fmt::format(
                        "task {}: the memory of block {} {} leaves {} free dimensions; residual "
                        "rank {} reduced to {}",
                        task + 1, site.block, toString(inputOf(site.map)), free, rank, free));
                    rank = free;
                }
                auto& basis = keyBases[key];  // q, k, v share norm1: one basis each
                if (!basis.defined()) {       // eq. 3
                    basis = (memory.taskBases(cov, rank) * plan_.basisScale).to(device_);
                }
                bases.push_back(basis);
            }
        }
    }
    startTask(bases);
    return warnings;
}

void ContinualModel::startTask(const std::vector<torch::Tensor>& bases) {
    adapters_->beginTask(bases);
    if (hasHead(started_)) {
        torch::nn::Linear head(
            backbone_->arch().width,
            static_cast<int64_t>(taskClasses_.at(static_cast<std::size_t>(started_)).size()));
        head->to(device_);
        heads_.push_back(head);
    }
    ++started_;
}

int ContinualModel::prefixBlocks() const {
    return plan_.layout.blocks.empty() ? 0 : plan_.layout.blocks.front();
}

int ContinualModel::observedBlocks(ForwardOptions* options) const {
    if (plan_.layout.blocks.empty()) {
        return backbone_->arch().depth;
    }
    // Memory passes only need the adapted maps' inputs: stop in the last adapted block once
    // they are seen (norm1 for q, k, v; norm2 for fc1), else run that block whole.
    const int last = plan_.layout.blocks.back();
    bool onlyNorm1 = true;
    bool onlyNorms = true;
    for (AdaptedMap m : plan_.layout.maps) {
        onlyNorm1 = onlyNorm1 && inputOf(m) == MapInput::Norm1;
        onlyNorms = onlyNorms && (inputOf(m) == MapInput::Norm1 || inputOf(m) == MapInput::Norm2);
    }
    if (onlyNorms) {
        options->stopBlock = last;
        options->stopAfter = onlyNorm1 ? MapInput::Norm1 : MapInput::Norm2;
    }
    return last + 1;
}

void ContinualModel::prePass(const std::vector<torch::Tensor>& batches,
                             bool prefixed,
                             const ForwardOptions& o) {
    passPrefix_.clear();
    passFeature_.clear();
    const int p = prefixBlocks();
    // h of eq. 5 is the token mean entering l_f; planMethod keeps l_f at or below the first
    // adapted block, and when they are equal the pre-pass computes it on the way.
    const bool feature =
        hasFeature() && plan_.feature == TaskIdFeature::BlockInput && plan_.featureBlock == p;
    // (block_input_and_cls needs a frozen pass on from l_f too: endTask computes it.)
    int64_t bytes = 0;
    for (const auto& b : batches) {
        const torch::Tensor x = atFirstAdapted(b, prefixed);  // no observed input sits below p
        if (!prefixed) {
            bytes += x.numel() * static_cast<int64_t>(x.element_size());
        }
        if (feature) {
            passFeature_.push_back(x.mean(1));  // [B, D]
        }
        if (bytes <= kPassPrefixBudgetBytes) {
            passPrefix_.push_back(x);  // [B, N, D]; prefixed batches are the caller's anyway
        } else {
            passPrefix_.clear();  // ViT-B/16 at 1,000 images would keep 600 MB: recompute
        }
        ForwardOptions observe = o;
        backbone_->runBlocks(x, p, observedBlocks(&observe), observe);
    }
}

std::vector<torch::Tensor> ContinualModel::trainableParameters() {
    if (started_ == 0 || !trainsTask(started_ - 1)) {
        return {};
    }
    auto params = adapters_->trainableParameters();
    for (const auto& p : heads_.back()->parameters()) {
        params.push_back(p);
    }
    return params;
}

torch::Tensor ContinualModel::trainLogits(const torch::Tensor& images, bool prefixed) {
    checkPrefixed("trainLogits", prefixed);
    ForwardOptions o;
    o.adapters = adapters_.get();
    adapters_->setGate({});  // every residual piece on while training (DESIGN §3.2, gate)
    torch::Tensor features;
    {
        compat::AutocastScope autocast(device_, bf16_);
        features = adaptedFeatures(images, prefixed, o);  // [B, D]
    }
    return heads_.back()->forward(features.to(torch::kFloat32));
}

std::vector<torch::Tensor> ContinualModel::beforeStep() {
    if (!plan_.projectOrthogonal || tasksStarted() < 2) {
        return {};
    }
    return adapters_->snapshotOrthogonal();
}

void ContinualModel::afterStep(const std::vector<torch::Tensor>& snapshot) {
    if (snapshot.empty()) {
        return;
    }
    adapters_->projectOrthogonalUpdate(
        snapshot, [this](const AdapterSite& s) -> const SubspaceMemory& { return memoryOf(s); },
        plan_.projectB);
}

torch::Tensor ContinualModel::taskFeature(const torch::Tensor& images,
                                          ForwardOptions options,
                                          torch::Tensor* features,
                                          bool prefixed,
                                          const torch::Tensor& known) {
    if (plan_.feature == TaskIdFeature::ClsFrozenPass) {
        // The adapter-free pass, [B, D].
        auto h = known.defined() ? known : backbone_->forwardFeatures(images);
        if (features != nullptr) {
            *features = backbone_->forwardFeatures(images, options);
        }
        return h;
    }
    // Eq. 5: mean over tokens of the residual stream entering block l_f (frozen: no adapter
    // sits below it), then the adapted blocks continue from there in the same pass.
    const int lf = plan_.featureBlock;  // = prefixBlocks() when `prefixed` (hasFrozenPrefix())
    auto x = prefixed
                 ? images
                 : backbone_->runBlocks(backbone_->embedTokens(images), 0, lf, ForwardOptions{});
    auto h = known;
    if (!h.defined()) {
        h = x.mean(1);                                           // [B, D]
        if (plan_.feature == TaskIdFeature::BlockInputAndCls) {  // [B, 2D]: and the frozen cls
            h = torch::cat({h, backbone_->pool(backbone_->runBlocks(x, lf, backbone_->arch().depth,
                                                                    ForwardOptions{}))},
                           1);
        }
    }
    if (features != nullptr) {
        if (statistics_ && plan_.gate != GateMode::None) {
            auto p = statistics_->taskPosterior(taskIdInput(h), seenTaskColumns(), plan_.tau);
            adapters_->setGate(plan_.gate == GateMode::Soft
                                   ? p
                                   : torch::one_hot(p.argmax(1), p.size(1)).to(p.dtype()));
        }
        *features = backbone_->pool(backbone_->runBlocks(x, lf, backbone_->arch().depth, options));
    }
    return h;
}

void ContinualModel::addToRidge(const torch::Tensor& batch,
                                const torch::Tensor& labels,
                                bool prefixed,
                                bool keep) {
    checkPrefixed("addToRidge", prefixed);
    if (!ridge_) {
        throw Error("addToRidge: this method has no ridge head");
    }
    torch::NoGradGuard noGrad;
    ForwardOptions o;
    o.adapters = adapters_.get();
    auto h = ridge_->project(adaptedFeatures(batch, prefixed, o));
    auto c = columnsOf(labels);
    ridge_->add(h, c);
    if (keep) {
        ridgeKept_.push_back(std::move(h));
        ridgeKeptColumns_.push_back(std::move(c));
    }
}

void ContinualModel::addToStatistics(const torch::Tensor& batch,
                                     const torch::Tensor& labels,
                                     bool prefixed,
                                     bool keep) {
    checkPrefixed("addToStatistics", prefixed);
    if (!hasFeature()) {
        return;
    }
    torch::NoGradGuard noGrad;
    statisticsAdded_ = true;
    const torch::Tensor h = taskFeature(batch.to(device_), {}, nullptr, prefixed);
    if (statistics_) {
        statistics_->add(taskIdInput(h), labels);
    }
    if (familiarity_) {
        familiarity_->add(h, labels);
        if (keep) {
            statsKept_.push_back(h.to(torch::kFloat32));
        }
    }
}

std::vector<MemoryStat> ContinualModel::endTask(const std::vector<torch::Tensor>& batches,
                                                const std::vector<torch::Tensor>& labels,
                                                double threshold,
                                                bool prefixed,
                                                const std::vector<torch::Tensor>& heldOut,
                                                const std::vector<torch::Tensor>& heldOutLabels) {
    checkPrefixed("endTask", prefixed);
    torch::NoGradGuard noGrad;
    adapters_->setGate({});
    std::vector<MemoryStat> stats;
    if (ridge_) {  // RanPAC: λ, T and W_o from the sums addToRidge() made
        ForwardOptions o;
        o.adapters = adapters_.get();
        std::vector<torch::Tensor> heldH;
        std::vector<torch::Tensor> heldC;
        for (std::size_t i = 0; i < heldOut.size(); ++i) {
            heldH.push_back(ridge_->project(adaptedFeatures(heldOut[i], false, o)));
            heldC.push_back(columnsOf(heldOutLabels.at(i)));
        }
        ridge_->allReduceAdded(group_, fmt::format("the ridge sums of task {}", started_));
        if (group_ != nullptr && heldOut.empty()) {  // RanPAC's 80/20 split of every rank's
            const int64_t width = ridge_->width();
            ridgeKept_ = {gatherRows(group_,
                                     ridgeKept_.empty() ? torch::zeros({0, width}, torch::kFloat32)
                                                        : torch::cat(ridgeKept_),
                                     "the kept ridge features")};
            ridgeKeptColumns_ = {gatherRows(group_,
                                            ridgeKeptColumns_.empty()
                                                ? torch::zeros({0}, torch::kInt64)
                                                : torch::cat(ridgeKeptColumns_),
                                            "the kept ridge labels")};
        }
        ridgeFit_ = ridge_->fit(heldH, heldC, ridgeKept_, ridgeKeptColumns_, seenClassCount());
        ridgeKept_.clear();
        ridgeKeptColumns_.clear();
    }
    if (plan_.subspaceMemory) {
        CovarianceObserver observer(memoryKeys());  // step 4 with the trained model
        ForwardOptions o;
        o.adapters = adapters_.get();
        o.observer = &observer;
        const bool cached = passPrefix_.size() == batches.size();
        const int end = observedBlocks(&o);
        for (std::size_t i = 0; i < batches.size(); ++i) {  // the prefix below it is frozen
            backbone_->runBlocks(cached ? passPrefix_[i] : atFirstAdapted(batches[i], prefixed),
                                 prefixBlocks(), end, o);
        }
        observer.allReduce(
            group_, [this](const InputKey& key) { return inputWidth(key); },
            fmt::format("the covariance post-pass of task {}", started_));
        for (auto& [key, memory] : memories_) {
            const MemoryUpdate u = memory.update(observer.covariance(key), threshold);  // eq. 4
            stats.push_back({key.first, toString(key.second), memory.size(), u.added,
                             u.energyBefore, u.energyAfter, u.threshold});
        }
    }
    if (hasFeature()) {
        const bool cached = passFeature_.size() == batches.size();
        // h of what the memories saw, for θ_t when nothing is held out
        std::vector<torch::Tensor> seen = std::move(statsKept_);
        const std::size_t fromBatches = statisticsAdded_ ? 0 : batches.size();
        for (std::size_t i = 0; i < fromBatches; ++i) {  // eq. 6 sums, no sample kept
            const torch::Tensor h =
                cached ? passFeature_[i]
                       : taskFeature(batches[i].to(device_), {}, nullptr, prefixed);
            if (statistics_) {
                statistics_->add(taskIdInput(h), labels[i]);
            }
            if (familiarity_) {
                familiarity_->add(h, labels[i]);
                if (heldOut.empty()) {
                    seen.push_back(h.to(torch::kFloat32));
                }
            }
        }
        const auto& taskClasses = taskClasses_.at(static_cast<std::size_t>(started_ - 1));
        if (statistics_) {
            statistics_->allReduceAdded(group_, taskClasses,
                                        fmt::format("the class statistics of task {}", started_));
            statistics_->finalize();
            seenColumnsTasks_ = -1;
        }
        if (familiarity_) {
            familiarity_->allReduceAdded(group_, taskClasses,
                                         fmt::format("the familiarity sums of task {}", started_));
        }
        const int64_t passImages =
            sumOver(group_, static_cast<int64_t>(batches.size()), "the pass sizes");
        if (familiarity_ && passImages == 0 && !statisticsAdded_) {  // nothing to learn from
            familiarity_.reset();
            oodThreshold_.clear();
        }
        if (familiarity_) {
            familiarity_->finalize();
            std::vector<torch::Tensor> held;
            for (const auto& images : heldOut) {  // images, never prefixed
                held.push_back(
                    taskFeature(images.to(device_), {}, nullptr, false).to(torch::kFloat32));
            }
            if (held.empty() && group_ != nullptr) {  // what every rank's memories saw
                seen = {gatherRows(group_,
                                   seen.empty() ? torch::zeros({0, featureDim()}, torch::kFloat32)
                                                : torch::cat(seen),
                                   "the features kept for the OOD threshold")};
            }
            const auto h = torch::cat(held.empty() ? seen : held);
            oodThreshold_.push_back(fitOodThreshold(h, started_ - 1));
        }
    }
    passPrefix_.clear();
    passFeature_.clear();
    statisticsAdded_ = false;
    statsKept_.clear();
    return stats;
}

std::vector<AdapterSpectrum> ContinualModel::spectra() {
    torch::NoGradGuard noGrad;
    std::vector<AdapterSpectrum> out;
    auto values = [](const torch::Tensor& w) {
        auto s = at::linalg_svdvals(w.to(torch::kCPU, torch::kFloat64));
        return std::vector<double>(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
    };
    for (const auto& site : adapters_->sites()) {
        if (plan_.layout.orthogonalRank > 0) {
            out.push_back({site.block, toString(site.map), "orthogonal",
                           values(torch::matmul(adapters_->orthogonalB(site),
                                                adapters_->orthogonalA(site)))});
        }
        if (plan_.layout.residualRank > 0 && adapters_->tasks() > 0) {
            torch::Tensor w;
            for (int t = 0; t < adapters_->tasks(); ++t) {
                auto piece =
                    torch::matmul(adapters_->residualV(site, t), adapters_->residualU(site, t).t());
                w = w.defined() ? w + piece : piece;
            }
            out.push_back({site.block, toString(site.map), "residual", values(w)});
        }
        if (adapters_->decoupledPieces() > 0) {  // SD-LoRA: Σ α_i D_i of the earlier tasks
            torch::Tensor w;
            for (int i = 0; i < adapters_->decoupledPieces(); ++i) {
                auto piece = torch::matmul(adapters_->directionOut(site, i),
                                           adapters_->directionIn(site, i).t()) *
                             adapters_->magnitude(site, i);
                w = w.defined() ? w + piece : piece;
            }
            out.push_back({site.block, toString(site.map), "residual", values(w)});
        }
    }
    return out;
}

int64_t ContinualModel::parameterCount() {
    int64_t n = 0;
    for (const auto& p : adapters_->parameters()) {
        n += p.numel();
    }
    for (auto& head : heads_) {
        for (const auto& p : head->parameters()) {
            n += p.numel();
        }
    }
    if (ridge_) {
        n += ridge_->parameterCount();
    }
    return n;
}

int64_t ContinualModel::plannedParameterCount() {
    int64_t n = parameterCount();
    const int64_t width = backbone_->arch().width;
    for (auto t = static_cast<std::size_t>(started_); t < taskClasses_.size(); ++t) {
        for (const auto& site : adapters_->sites()) {
            n += mapShape(backbone_->arch(), site.map).second * plan_.layout.residualRank;
            n += plan_.layout.decoupled && t > 0 ? 1 : 0;  // SD-LoRA: α of the task before
        }
        if (hasHead(static_cast<int>(t))) {
            n += (width + 1) * static_cast<int64_t>(taskClasses_[t].size());
        }
    }
    return n;
}

}  // namespace dlw
