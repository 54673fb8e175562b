#pragma once
// Fault injection for AtomicFile and the events log, for tests of what a run does when the disk
// fills up or turns read-only (#14): a hook that may fail any stage of any write with an errno.
// Production code never sets it. Not thread-safe against writes in flight: set it before the
// run under test starts, clear it after.

#include <filesystem>
#include <functional>

namespace dlw::detail {

enum class WriteStage { Create, Write, Sync, Rename, Append };

// Returns 0 to let the stage proceed, or an errno (ENOSPC, EROFS, ...) to make it fail as if
// the system had returned that error.
using WriteFaultHook = std::function<int(const std::filesystem::path& target, WriteStage stage)>;

// Installs `hook` (empty: none). Returns the previous one.
WriteFaultHook setWriteFaultHook(WriteFaultHook hook);

// The errno the hook chooses for `target` at `stage`, 0 without a hook.
int injectedWriteFault(const std::filesystem::path& target, WriteStage stage);

}  // namespace dlw::detail
