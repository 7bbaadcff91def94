// Atomic, durable file replacement (write temp, fsync, rename, fsync directory): a reader or a
// restarted process sees either the old file or the new one, never a torn write.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace weightsync::fake {

// Replaces `path` with `content`. Throws std::runtime_error with the path and errno text.
void write_file_durably(const std::filesystem::path& path, std::string_view content);
// Removes `path` (if present) and fsyncs its directory.
void remove_file_durably(const std::filesystem::path& path);
// The whole file. Throws std::runtime_error if it cannot be read.
std::string read_whole_file(const std::filesystem::path& path);

}  // namespace weightsync::fake
