#include "ui/engine_runner.h"

#include "api/error.h"

namespace dlw::ui {

EngineRunner::EngineRunner(QObject* parent) : QObject(parent) {
    timer_.setInterval(kRefreshMs);
    connect(&timer_, &QTimer::timeout, this, &EngineRunner::drain);
}

EngineRunner::~EngineRunner() {
    control_.stop = true;
    control_.pause = false;
    if (thread_.joinable()) {
        thread_.join();
    }
}

bool EngineRunner::start(const RunRequest& request, std::shared_ptr<RunData> data) {
    if (thread_.joinable()) {
        return false;
    }
    control_.stop = false;
    control_.pause = false;
    control_.stopAfterTask = false;
    data_ = std::move(data);
    data_->state = RunState::Running;
    data_->runDir = request.runDir;
    threadDone_ = false;
    engineSteps_ = 0;
    thread_ = std::thread([this, request] {
        auto push = [this](Event ev) {
            std::lock_guard<std::mutex> lock(mutex_);
            pending_.push_back(std::move(ev));
        };
        bool reported = false;
        try {
            runExperiment(request, control_, [&](const Event& ev) {
                reported = reported || std::holds_alternative<RunFinished>(ev);
                if (std::holds_alternative<StepFinished>(ev)) {
                    engineSteps_.fetch_add(1);
                }
                push(ev);
            });
        } catch (const std::exception& err) {
            // Bad input found before training (a missing dataset...) or a failure the engine
            // already reported: the run fails with the message; the window goes on.
            if (!reported) {
                RunFinished f;
                f.error = err.what();
                push(f);
            }
        }
        std::lock_guard<std::mutex> lock(mutex_);
        threadDone_ = true;
    });
    timer_.start();
    return true;
}

void EngineRunner::stop() {
    control_.stop = true;
    control_.pause = false;
    if (data_ && !data_->finished()) {
        data_->state = RunState::Stopping;
        emit updated();
    }
}

void EngineRunner::setPaused(bool paused) {
    control_.pause = paused;
}

void EngineRunner::stopAfterTask() {
    control_.stopAfterTask = true;
}

void EngineRunner::drain() {
    std::deque<Event> events;
    bool done = false;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        events.swap(pending_);
        done = threadDone_;
    }
    const bool stopping = data_->state == RunState::Stopping;
    for (const auto& ev : events) {
        data_->apply(ev);
    }
    if (stopping && !data_->finished()) {
        data_->state = RunState::Stopping;
    }
    if (!events.empty()) {
        emit updated();
    }
    if (done) {
        timer_.stop();
        thread_.join();
        emit finished();
    }
}

}  // namespace dlw::ui
