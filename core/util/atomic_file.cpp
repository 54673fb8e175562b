#include "api/atomic_file.h"

#include "api/error.h"
#include "util/write_faults.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace dlw {

namespace detail {
namespace {
WriteFaultHook& faultHook() {
    static WriteFaultHook hook;
    return hook;
}
}  // namespace

WriteFaultHook setWriteFaultHook(WriteFaultHook hook) {
    std::swap(faultHook(), hook);
    return hook;
}

int injectedWriteFault(const std::filesystem::path& target, WriteStage stage) {
    return faultHook() ? faultHook()(target, stage) : 0;
}
}  // namespace detail

namespace {

std::string errnoText() {
    return std::strerror(errno);
}

// Makes a system call's failure out of an injected fault: sets errno, returns true.
bool injected(const std::filesystem::path& target, detail::WriteStage stage) {
    const int fault = detail::injectedWriteFault(target, stage);
    if (fault != 0) {
        errno = fault;
        return true;
    }
    return false;
}

std::filesystem::path tempPathFor(const std::filesystem::path& target) {
    static std::atomic<unsigned> counter{0};
    auto name = target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                std::to_string(counter.fetch_add(1));
    return target.parent_path() / name;
}

}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target)
    : target_(std::move(target)), temp_(tempPathFor(target_)) {
    if (target_.has_parent_path()) {
        std::error_code ec;
        std::filesystem::create_directories(target_.parent_path(), ec);
    }
    fd_ = injected(target_, detail::WriteStage::Create)
              ? -1
              : ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) {
        throw Error(target_.string() + ": cannot create a temporary file to write (" + errnoText() +
                    ")");
    }
}

AtomicFile::~AtomicFile() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
    if (!committed_) {
        std::error_code ec;
        std::filesystem::remove(temp_, ec);
    }
}

void AtomicFile::write(const void* data, std::size_t size) {
    const auto* bytes = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n =
            injected(target_, detail::WriteStage::Write) ? -1 : ::write(fd_, bytes, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw Error(target_.string() + ": write failed (" + errnoText() + ")");
        }
        bytes += n;
        size -= static_cast<std::size_t>(n);
    }
}

void AtomicFile::commit() {
    if (committed_ || fd_ < 0) {
        throw Error(target_.string() + ": AtomicFile::commit called twice");
    }
    int failure = detail::injectedWriteFault(target_, detail::WriteStage::Sync);
    if (failure == 0 && ::fsync(fd_) != 0) {
        failure = errno;
    }
    if (::close(fd_) != 0 && failure == 0) {  // the descriptor is released either way
        failure = errno;
    }
    fd_ = -1;
    if (failure != 0) {
        errno = failure;
        throw Error(target_.string() + ": flushing to disk failed (" + errnoText() + ")");
    }
    if (injected(target_, detail::WriteStage::Rename) ||
        ::rename(temp_.c_str(), target_.c_str()) != 0) {
        throw Error(target_.string() + ": cannot replace the file (" + errnoText() + ")");
    }
    committed_ = true;
    const auto dir = target_.has_parent_path() ? target_.parent_path() : ".";
    const int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirFd >= 0) {
        ::fsync(dirFd);
        ::close(dirFd);
    }
}

void writeFileAtomically(const std::filesystem::path& target, std::string_view content) {
    AtomicFile file(target);
    file.write(content);
    file.commit();
}

std::string readWholeFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(path.string() + ": cannot open for reading (" + errnoText() + ")");
    }
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) {
        throw Error(path.string() + ": read failed");
    }
    return buffer.str();
}

}  // namespace dlw
