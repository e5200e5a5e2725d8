// What the commands' option tables share: bounds, the CLI11 hook of a value's check, and
// the conversions of values that passed their check.
#ifndef GETMFS_CLI_OPTION_VALUES_H_
#define GETMFS_CLI_OPTION_VALUES_H_

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "cli/size.h"

namespace getmfs::cli {

// Exit status of a bad command line (documented in the README).
constexpr int kExitUsage = 2;

// Bounds of option values. A year of seconds keeps every deadline far from overflowing.
constexpr double kMaxSeconds = 365.0 * 24 * 3600;
constexpr std::int64_t kMaxConcurrency = 1024, kMaxWorkers = 256;
constexpr std::uint64_t kKiB = 1024, kMiB = kKiB << 10, kGiB = kMiB << 10;

// Gives an option its check, as a CLI11 transform (CLI11 then puts the option's name before
// the message and we exit 2), and the type its help shows.
CLI::Option* Checked(CLI::Option* option, Check check, const char* type);

// No cache may be larger than the machine's memory.
std::uint64_t PhysicalMemory();

// Values that passed their check: a count or id, a size (in decimal bytes by then), a
// concurrency (a count or none), seconds.
std::int64_t Number(const std::string& text);
std::size_t Bytes(const std::string& text);
std::optional<int> ParseConcurrency(const std::string& text);
double Seconds(const std::string& text);

}  // namespace getmfs::cli

#endif  // GETMFS_CLI_OPTION_VALUES_H_
