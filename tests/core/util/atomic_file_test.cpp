#include "api/atomic_file.h"

#include "api/error.h"
#include "test_support.h"

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
