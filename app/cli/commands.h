#pragma once
// The subcommands of `dlw`; each adds itself to the CLI11 app and runs from its callback.

#include "api/output_text.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fmt/format.h>
#include <string>
#include <utility>

namespace dlw::cli {

// fmt::print for what dlw prints, with names that are not UTF-8 shown as \xHH (#14: raw
// Latin-1 bytes reached the terminal, the tables and the CSV).
inline void writeText(std::FILE* file, const std::string& text) {
    const std::string shown = displayText(text);
    std::fwrite(shown.data(), 1, shown.size(), file);
}
template <class... Args>
void printOut(fmt::format_string<Args...> format, Args&&... args) {
    writeText(stdout, fmt::vformat(format, fmt::make_format_args(args...)));
}
template <class... Args>
void printErr(fmt::format_string<Args...> format, Args&&... args) {
    writeText(stderr, fmt::vformat(format, fmt::make_format_args(args...)));
}

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
void addReportCommand(CLI::App& app, const GlobalOptions& global);

}  // namespace dlw::cli
