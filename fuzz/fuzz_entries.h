#pragma once
// One entry point per parser of outside data (issue #14). Each takes the raw fuzz input, puts it
// where the real reader expects it (a file in the scratch folder for readers that take a path)
// and calls the reader the program uses. Each returns normally or throws dlw::Error: any other
// exception, a crash or a sanitizer report is a bug in the reader. The libFuzzer targets
// (fuzz_main.cpp) and the regression test (tests/core/fuzz_regressions_test.cpp) share them.
// Not thread-safe: they share one scratch folder per process.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace dlw::fuzz {

// readSafetensorsHeader, loadSafetensors, then inspectBackbone and loadBackbone on the file.
void fuzzSafetensors(std::string_view input);
// readIdx on a raw and on a gzip-compressed copy: the input is the image file, and its first
// part (kPartSeparator) also serves as the label file.
void fuzzIdx(std::string_view input);
// readCifar100File, with and without class names; then readCifar100 on a folder holding the
// input as train.bin and test.bin.
void fuzzCifar(std::string_view input);
// experimentFromJsonText on the whole input (then a write/read round trip that must give the
// same experiment), and each line as a `--set KEY=VALUE` through applyOverride/applyOverrides.
void fuzzExperiment(std::string_view input);
// A run directory whose latest checkpoint is the input: part 1 the state JSON, part 2 the
// tensors (safetensors). RunStore::latestCheckpoint and cutEventsToCheckpoint, then a Predictor
// (the model restored from the tensors) over the smoke experiment and its tiny backbone.
void fuzzCheckpoint(std::string_view input);
// A run directory: part 1 events.jsonl (readRunEvents), part 2 summary.json and part 3
// experiment.json (readRunRecord).
void fuzzRunEvents(std::string_view input);
// The input as an image file: probeImageFile, decodeImageFile and loadImageFiles (grey 28 px
// and RGB 32 px with normalisation), as the folder reader, embed and predict use them.
void fuzzImage(std::string_view input);
// The input's lines as file paths below a fresh dataset folder (a line ending in '/' makes a
// folder; bytes after a tab are the file's content, else a tiny PNG): readImageFolder and
// scanDataset on it. Names may hold any byte but '/' and NUL.
void fuzzImageFolder(std::string_view input);

// The targets by name ("safetensors", "idx", ...), for the regression test and fuzz_main.cpp.
struct FuzzTarget {
    std::string name;
    std::function<void(std::string_view)> run;
};
std::vector<FuzzTarget> fuzzTargets();

}  // namespace dlw::fuzz
