#include "api/atomic_file.h"

#include "api/error.h"
#include "test_support.h"
#include "util/write_faults.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace dlw {
namespace {

TEST(AtomicFile, ReplacesContentWhole) {
    const auto dir = test::tempDir("atomic");
    const auto path = dir / "f.txt";
    writeFileAtomically(path, "old");
    writeFileAtomically(path, "new content");
    EXPECT_EQ(readWholeFile(path), "new content");
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);  // no temp left
}

TEST(AtomicFile, AbandonedWriteLeavesTargetUntouched) {
    const auto dir = test::tempDir("atomic");
    const auto path = dir / "f.txt";
    writeFileAtomically(path, "keep me");
    {
        AtomicFile f(path);
        f.write("partial");
    }  // destroyed without commit, as when an exception unwinds
    EXPECT_EQ(readWholeFile(path), "keep me");
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
}

// #14: a full disk or a read-only folder at any stage of a write: a clear error naming the file
// and the system's reason, the previous content intact, no temporary file left behind.
TEST(AtomicFile, AFailureAtAnyStageKeepsThePreviousFile) {
    const auto dir = test::tempDir("atomic-fault");
    const auto path = dir / "f.txt";
    writeFileAtomically(path, "previous");
    const std::vector<std::pair<detail::WriteStage, int>> faults = {
        {detail::WriteStage::Create, EROFS},
        {detail::WriteStage::Write, ENOSPC},
        {detail::WriteStage::Sync, EIO},
        {detail::WriteStage::Rename, EROFS},
    };
    for (const auto& [stage, code] : faults) {
        const auto previous = detail::setWriteFaultHook(
            [stage = stage, code = code](const std::filesystem::path&, detail::WriteStage s) {
                return s == stage ? code : 0;
            });
        DLW_EXPECT_ERROR(writeFileAtomically(path, "new content"), path.string(),
                         std::strerror(code));
        detail::setWriteFaultHook(previous);
        EXPECT_EQ(readWholeFile(path), "previous");
        EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
    }
    writeFileAtomically(path, "new content");  // the hook gone, writing works again
    EXPECT_EQ(readWholeFile(path), "new content");
}

TEST(AtomicFile, MissingFileNamesThePath) {
    try {
        readWholeFile("/nonexistent/dir/x.json");
        FAIL() << "expected dlw::Error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/x.json"), std::string::npos);
    }
}

}  // namespace
}  // namespace dlw
