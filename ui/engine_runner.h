#pragma once
// Runs one experiment on a background thread through the engine API (core/api/engine.h) and
// hands its events to the GUI thread in batches: the engine's callback only appends to a queue,
// and a timer on the GUI thread drains it into the RunData, so plots redraw at most every
// kRefreshMs however fast the steps come. Stop, pause and "stop after this task" set the engine's
// flags directly (a stop lands within one batch).

#include "api/engine.h"
#include "ui/run_data.h"

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include <QObject>
#include <QTimer>

namespace dlw::ui {

class EngineRunner : public QObject {
    Q_OBJECT

public:
    static constexpr int kRefreshMs = 100;

    explicit EngineRunner(QObject* parent = nullptr);
    ~EngineRunner() override;  // stops a running experiment and waits for it

    // Starts `request` into `data` (kept alive by the caller until finished() is emitted).
    // Returns false when a run is already in progress.
    bool start(const RunRequest& request, std::shared_ptr<RunData> data);
    bool busy() const { return thread_.joinable(); }

    void stop();
    void setPaused(bool paused);
    void stopAfterTask();
    bool paused() const { return control_.pause.load(); }
    const std::shared_ptr<RunData>& data() const { return data_; }
    // Steps the engine has finished in this run so far (its thread's count; data() lags by up
    // to kRefreshMs).
    int64_t engineSteps() const { return engineSteps_.load(); }

signals:
    void updated();   // new events were applied to data()
    void finished();  // data()->state is Done, Stopped or Failed

private:
    void drain();

    RunControl control_;
    std::shared_ptr<RunData> data_;
    std::thread thread_;
    std::mutex mutex_;  // guards pending_ and threadDone_
    std::deque<Event> pending_;
    bool threadDone_ = false;
    QTimer timer_;
    std::atomic<int64_t> engineSteps_{0};
};

}  // namespace dlw::ui
