#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace dlw {

// Writes a file so that readers see either the old content or the whole new content, never a
// part: data goes to "<path>.tmp-<pid>-<n>" in the same folder, is flushed and fsync'ed, then
// renamed over the target (and the folder is fsync'ed). If the object is destroyed before
// commit(), the temporary file is removed and the target is untouched.
// Not thread-safe; one object per file being written. Throws dlw::Error naming the path.
class AtomicFile {
public:
    explicit AtomicFile(std::filesystem::path target);
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    AtomicFile(AtomicFile&&) = delete;
    AtomicFile& operator=(AtomicFile&&) = delete;

    // Appends bytes to the temporary file.
    void write(const void* data, std::size_t size);
    void write(std::string_view text) { write(text.data(), text.size()); }
    // Flushes, fsyncs and renames onto the target. Call once.
    void commit();

    const std::filesystem::path& target() const { return target_; }

private:
    std::filesystem::path target_;
    std::filesystem::path temp_;
    int fd_ = -1;
    bool committed_ = false;
};

// Convenience: the whole content at once, through AtomicFile.
void writeFileAtomically(const std::filesystem::path& target, std::string_view content);

// Reads a whole file; throws dlw::Error naming the path when it cannot.
std::string readWholeFile(const std::filesystem::path& path);

}  // namespace dlw
