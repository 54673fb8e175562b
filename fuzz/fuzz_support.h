#pragma once
// Shared pieces of the libFuzzer targets (issue #14): a per-process scratch folder for readers
// that only take a path, splitting one input into several files, and the one rule of every
// target: dlw::Error is the right answer to bad input, anything else escaping is a finding.

#include "api/error.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace dlw::fuzz {

// Separates the files packed into one input of the multi-file targets (the dictionaries and
// the seed script use the same text).
inline constexpr std::string_view kPartSeparator = "\n=====\n";

// A scratch folder for this process, in /dev/shm when there is one (no disk writes per input).
// Created on first use, emptied by clean().
inline const std::filesystem::path& scratchDir() {
    static const std::filesystem::path dir = [] {
        std::error_code ec;
        const std::filesystem::path base =
            std::filesystem::is_directory("/dev/shm", ec) ? "/dev/shm" : "/tmp";
        auto d = base / ("dlw-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d;
    }();
    return dir;
}

// Removes everything below the scratch folder, keeping the folder.
inline void cleanScratch() {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(scratchDir(), ec)) {
        std::filesystem::remove_all(entry.path(), ec);
    }
}

// Writes `bytes` to `path` (parent folders are created).
inline void writeBytes(const std::filesystem::path& path, std::string_view bytes) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string_view asText(const uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// The input cut at each kPartSeparator; always at least `minParts` parts (missing ones empty).
inline std::vector<std::string_view> splitParts(std::string_view text, std::size_t minParts) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const std::size_t at = text.find(kPartSeparator, start);
        if (at == std::string_view::npos) {
            parts.push_back(text.substr(start));
            break;
        }
        parts.push_back(text.substr(start, at - start));
        start = at + kPartSeparator.size();
    }
    parts.resize(std::max(parts.size(), minParts));
    return parts;
}

// Runs `body`; dlw::Error (the documented outcome for bad input) is swallowed, every other
// exception escapes and libFuzzer records the input as a crash.
template <class Body>
void expectOnlyDlwError(Body&& body) {
    try {
        body();
    } catch (const dlw::Error&) {
    }
}

}  // namespace dlw::fuzz
