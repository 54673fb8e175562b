#include "api/distributed.h"
#include "api/error.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <string_view>

extern char** environ;  // NOLINT: POSIX

namespace dlw {
namespace {

// The whole of `text` as an integer in [low, high], else an error naming the variable.
long long integerOf(const std::string& name,
                    const std::string& text,
                    long long low,
                    long long high,
                    const char* meaning) {
    std::size_t used = 0;
    long long value = 0;
    try {
        value = std::stoll(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != text.size() || value < low || value > high) {
        throw Error(
            fmt::format("{}='{}': expected {} from {} to {}", name, text, meaning, low, high));
    }
    return value;
}

}  // namespace

DistributedOptions distributedOptionsFrom(const std::map<std::string, std::string>& environment) {
    const auto get = [&](const char* name) -> const std::string* {
        const auto it = environment.find(name);
        return it == environment.end() ? nullptr : &it->second;
    };
    DistributedOptions o;
    const std::string* world = get("WORLD_SIZE");
    const std::string* rank = get("RANK");
    if (world == nullptr || rank == nullptr) {
        throw Error(fmt::format(
            "--distributed: {} is not set; a launcher sets RANK, WORLD_SIZE, LOCAL_RANK, "
            "MASTER_ADDR and MASTER_PORT for each process (torchrun --no-python, "
            "scripts/launch.sh N EXPERIMENT)",
            world == nullptr ? "WORLD_SIZE" : "RANK"));
    }
    o.worldSize = static_cast<int>(integerOf("WORLD_SIZE", *world, 1, 1 << 20, "a count"));
    o.rank = static_cast<int>(
        integerOf("RANK", *rank, 0, o.worldSize - 1, "a rank (WORLD_SIZE - 1 at most)"));
    if (const auto* v = get("LOCAL_RANK")) {
        o.localRank = static_cast<int>(integerOf("LOCAL_RANK", *v, 0, 1 << 20, "a rank"));
    }
    if (const auto* v = get("MASTER_ADDR")) {
        if (v->empty()) {
            throw Error("MASTER_ADDR is empty: expected rank 0's host name or address");
        }
        o.masterAddr = *v;
    }
    if (const auto* v = get("MASTER_PORT")) {
        o.masterPort = static_cast<int>(integerOf("MASTER_PORT", *v, 1, 65535, "a port"));
    }
    if (const auto* v = get("TORCHELASTIC_USE_AGENT_STORE")) {
        o.agentStore = *v == "True" || *v == "true" || *v == "1";
    }
    if (const auto* v = get("DLW_DIST_TIMEOUT")) {
        char* end = nullptr;
        const double seconds = std::strtod(v->c_str(), &end);
        if (v->empty() || end != v->c_str() + v->size() || !std::isfinite(seconds) || seconds < 1 ||
            seconds > 86400) {
            throw Error(fmt::format("DLW_DIST_TIMEOUT='{}': expected seconds from 1 to 86400", *v));
        }
        o.timeoutSeconds = seconds;
    }
    return o;
}

DistributedOptions distributedOptionsFromEnvironment() {
    std::map<std::string, std::string> environment;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string entry(*e);
        const auto eq = entry.find('=');
        if (eq != std::string::npos) {
            environment.emplace(entry.substr(0, eq), entry.substr(eq + 1));
        }
    }
    return distributedOptionsFrom(environment);
}

std::string shellWord(const std::string& text) {
    const bool safe = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
               std::string_view("_-./=:@,+%").find(c) != std::string_view::npos;
    });
    if (safe) {
        return text;
    }
    std::string out = "'";
    for (char c : text) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

std::string launchCommand(const LaunchPlan& plan) {
    if (plan.machines < 1 || plan.processesPerMachine < 1) {
        throw Error(
            fmt::format("a run needs at least one machine and one process per machine, "
                        "got {} and {}",
                        plan.machines, plan.processesPerMachine));
    }
    if (plan.masterPort < 1 || plan.masterPort > 65535) {
        throw Error(fmt::format("port {}: expected 1 to 65535", plan.masterPort));
    }
    if (plan.experimentFile.empty() || plan.runDir.empty() || plan.program.empty()) {
        throw Error("a launch needs the experiment file, the run folder and the program");
    }
    std::string out = "torchrun ";
    if (plan.machines == 1) {
        out += fmt::format("--standalone --nproc_per_node={}", plan.processesPerMachine);
    } else {
        if (plan.masterAddr.empty()) {
            throw Error("a run on several machines needs rank 0's host (MASTER_ADDR)");
        }
        out += fmt::format(
            "--nnodes={} --nproc_per_node={} --node_rank=\"$NODE_RANK\" --master_addr={} "
            "--master_port={}",
            plan.machines, plan.processesPerMachine, shellWord(plan.masterAddr), plan.masterPort);
    }
    return out + fmt::format(" --no_python {} run {} --distributed --out {}",
                             shellWord(plan.program), shellWord(plan.experimentFile),
                             shellWord(plan.runDir));
}

}  // namespace dlw
