// Sizes with suffixes (64K, 8M, 1G) for options, and bytes for people.
#ifndef GETMFS_CLI_SIZE_H_
#define GETMFS_CLI_SIZE_H_

#include <cstdint>
#include <optional>
#include <string>

namespace getmfs::cli {

// "1048576", "64K", "8M", "1G", "128MiB", "2GB" (binary units) -> bytes.
std::optional<std::uint64_t> ParseSize(const std::string& text);
// 1536 -> "1.5 KiB".
std::string FormatBytes(double bytes);

}  // namespace getmfs::cli

#endif  // GETMFS_CLI_SIZE_H_
