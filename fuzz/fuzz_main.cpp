// The libFuzzer entry of one target; DLW_FUZZ_ENTRY names its function of fuzz_entries.h
// (fuzz/CMakeLists.txt builds this file once per target).
#include "api/runtime.h"
#include "fuzz_entries.h"
#include "fuzz_support.h"

#ifndef DLW_FUZZ_ENTRY
#error "DLW_FUZZ_ENTRY must name the target's entry function"
#endif

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
    // One compute thread: inputs are small, and libFuzzer's jobs already use the cores.
    dlw::applyThreads(1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    dlw::fuzz::expectOnlyDlwError(
        [&] { dlw::fuzz::DLW_FUZZ_ENTRY(dlw::fuzz::asText(data, size)); });
    return 0;
}
