// A long queue (#14): N small experiments run one after another through the engine API the way
// the window drives it (a runner thread, events through a locked queue that this "GUI" thread
// drains every 10 ms), with pauses, stops and resumes interleaved at seeded random moments.
// Checks and prints: no run stuck (each attempt must end within --timeout seconds), no lost
// event (every event of every run folder's events.jsonl reached the listener, steps contiguous
// and never twice in the file), resident memory after each run and whether it stays within
// 10 % of its value after the warm-up runs. Exit 1 on any failure.
//   build/bench/dlw_bench_queue [--runs 30] [--warmup 5] [--threads 1] [--timeout 300]
#include "api/dataset_scan.h"
#include "api/engine.h"
#include "api/run_folder.h"
#include "queue_soak_support.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unistd.h>

namespace {

using namespace dlw;
using Clock = std::chrono::steady_clock;

struct Attempt {
    std::deque<Event> pending;  // runner → this thread; guarded by mutex
    std::mutex mutex;
    std::atomic<bool> done{false};
    std::string error;
};

// One runExperiment call on a runner thread; this thread drains its events and, by the seeded
// generator, pauses, unpauses, stops or asks for a stop after the task. Returns whether the run
// was stopped (to be resumed) and appends the events to `seen`.
bool attempt(const RunRequest& request,
             std::mt19937& rng,
             double timeoutSeconds,
             std::vector<Event>& seen,
             bool& stuck) {
    Attempt a;
    RunControl control;
    std::thread runner([&] {
        try {
            runExperiment(request, control, [&](const Event& ev) {
                const std::lock_guard<std::mutex> lock(a.mutex);
                a.pending.push_back(ev);
            });
        } catch (const std::exception& err) {
            a.error = err.what();
        }
        a.done = true;
    });
    const auto start = Clock::now();
    bool stopped = false;
    std::uniform_int_distribution<int> dice(0, 999);
    while (true) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        const bool finished = a.done.load();
        {
            const std::lock_guard<std::mutex> lock(a.mutex);
            for (auto& ev : a.pending) {
                if (const auto* f = std::get_if<RunFinished>(&ev)) {
                    stopped = f->stopped;
                }
                seen.push_back(std::move(ev));
            }
            a.pending.clear();
        }
        if (finished) {
            break;
        }
        const int roll = dice(rng);
        if (roll < 40) {  // a pause of 20-120 ms
            control.pause = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20 + dice(rng) / 10));
            control.pause = false;
        } else if (roll < 55) {
            control.stop = true;
        } else if (roll < 60) {
            control.stopAfterTask = true;
        }
        if (std::chrono::duration<double>(Clock::now() - start).count() > timeoutSeconds) {
            stuck = true;
            control.stop = true;
            control.pause = false;
        }
    }
    runner.join();
    if (!a.error.empty()) {
        throw std::runtime_error(a.error);
    }
    return stopped;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app("Long queue soak through the engine API (#14)");
    int runs = 30;
    int warmup = 5;
    int threads = 1;
    double timeout = 300;
    app.add_option("--runs", runs, "Experiments in the queue")->check(CLI::Range(1, 10000));
    app.add_option("--warmup", warmup, "Runs before the memory baseline")
        ->check(CLI::Range(0, 100));
    app.add_option("--threads", threads, "LibTorch threads per run")->check(CLI::Range(1, 256));
    app.add_option("--timeout", timeout, "Seconds one attempt may take before it counts as stuck");
    CLI11_PARSE(app, argc, argv);
    if (!std::filesystem::exists(defaultDataRoot(DataKind::FashionMnist))) {
        std::puts("Fashion-MNIST is not installed (scripts/setup.sh)");
        return 2;
    }
    const auto root =
        std::filesystem::temp_directory_path() / fmt::format("dlw-bench-queue-{}", ::getpid());
    std::mt19937 rng(14);
    int failures = 0;
    int stops = 0;
    double baseline = 0;
    double highest = 0;
    const auto t0 = Clock::now();
    for (int i = 0; i < runs; ++i) {
        RunRequest request;
        request.experiment = bench::queueExperiment(i, threads);
        request.runDir = newRunFolder(request.experiment, root).string();
        std::vector<Event> seen;
        bool stuck = false;
        int attempts = 0;
        try {
            while (attempt(request, rng, timeout, seen, stuck) && !stuck) {
                request.resume = true;  // stopped: resume, as the window's Resume does
                ++stops;
                ++attempts;
            }
        } catch (const std::exception& err) {
            std::printf("run %2d FAILED: %s\n", i + 1, err.what());
            ++failures;
            continue;
        }
        std::set<int64_t> delivered;
        int finishedSeen = 0;
        for (const auto& ev : seen) {
            if (const auto* s = std::get_if<StepFinished>(&ev)) {
                delivered.insert(s->step);
            }
            finishedSeen += std::holds_alternative<RunFinished>(ev) ? 1 : 0;
        }
        std::string problem = stuck ? "stuck" : bench::checkDelivered(request.runDir, delivered);
        if (problem.empty() && finishedSeen == 0) {
            problem = "RunFinished never reached the listener";
        }
        const double rss = bench::residentMiB();
        if (i + 1 == warmup) {
            baseline = rss;
        }
        if (i + 1 > warmup) {
            highest = std::max(highest, rss);
        }
        std::printf("run %2d %-9s %d task(s), %d stop(s), %4zu events  RSS %6.1f MiB  %s\n", i + 1,
                    toString(request.experiment.method.name).c_str(),
                    request.experiment.sequence.tasks, attempts, seen.size(), rss,
                    problem.empty() ? "ok" : problem.c_str());
        std::fflush(stdout);
        failures += problem.empty() ? 0 : 1;
    }
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("%d runs, %d stops resumed, %.0f s, %d failure(s)\n", runs, stops, seconds,
                failures);
    if (baseline > 0 && highest > 0) {
        const double growth = 100.0 * (highest - baseline) / baseline;
        std::printf(
            "resident memory after run %d: %.1f MiB; highest after it: %.1f MiB (%+.1f %%, %s)\n",
            warmup, baseline, highest, growth, growth <= 10.0 ? "flat within 10 %" : "GREW");
        failures += growth <= 10.0 ? 0 : 1;
    }
    return failures == 0 ? 0 : 1;
}
