#pragma once
// The subcommands of `dlw`; each adds itself to the CLI11 app and runs from its callback.

#include <CLI/CLI.hpp>

namespace dlw::cli {

// Options every command shares, filled by CLI11 before a callback runs.
struct GlobalOptions {
    int threads = 0;  // 0 = auto
};

// Thrown by a command to end with a specific exit code after printing its own message.
struct ExitCode {
    int code;
};

void addInfoCommand(CLI::App& app, const GlobalOptions& global);
void addEmbedCommand(CLI::App& app, const GlobalOptions& global);
void addPretrainCommand(CLI::App& app, const GlobalOptions& global);
void addRunCommand(CLI::App& app, const GlobalOptions& global);
void addCompareCommand(CLI::App& app, const GlobalOptions& global);
void addPredictCommand(CLI::App& app, const GlobalOptions& global);
void addQueueCommand(CLI::App& app, const GlobalOptions& global);

}  // namespace dlw::cli
