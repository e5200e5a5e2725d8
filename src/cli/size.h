// Option values: sizes with suffixes (64K, 8M, 1G), counts, seconds and modes, checked
// strictly; and bytes for people.
#ifndef GETMFS_CLI_SIZE_H_
#define GETMFS_CLI_SIZE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace getmfs::cli {

// "1048576", "64K", "8M", "1G", "128MiB", "2GB" (binary units) -> bytes; nullopt for
// anything else ("12Q", "-5M", "1.5G", "", a value past 2^64).
std::optional<std::uint64_t> ParseSize(const std::string& text);
// Decimal digits only ("16"; not "16abc", "+1", " 1", "0x10", "1e3") in [min, max].
std::optional<std::int64_t> ParseCount(const std::string& text, std::int64_t min, std::int64_t max);
// A decimal number of seconds ("2.5", "300"; no sign, exponent, nan or inf), > 0 and <= max.
std::optional<double> ParseSeconds(const std::string& text, double max);
// Octal permissions from 0 to 7777 ("0444", "755"); octal digits only.
std::optional<std::uint32_t> ParseMode(const std::string& text);

// The check of an option value, for CLI11's transforms and mount's -o keys: "" when the value
// is good (a size, count or id is then rewritten as its number in decimal), else what is
// wrong with it and what is accepted (the caller says which option).
using Check = std::function<std::string(std::string&)>;

Check SizeCheck(std::uint64_t min, std::uint64_t max);
// A size that is also a multiple of 4096 (a page).
Check PageMultipleCheck(std::uint64_t min, std::uint64_t max);
// A count; with none_too, the word "none" as well (left as it is).
Check CountCheck(std::int64_t min, std::int64_t max, bool none_too = false);
Check SecondsCheck(double max);
Check ModeCheck();
// A user or group id: decimal, 0 to 4294967294 ((uid_t)-1 means "no change" to the kernel).
Check IdCheck();
Check NotEmptyCheck(const std::string& what);
// A file that can be opened for reading (a CA bundle, a token file).
Check ReadableFileCheck(const std::string& what);
// An absolute http:// or https:// URL with a host, without a query string (a DRS server).
Check HttpUrlCheck(const std::string& what);
// One of the (lower-case) words, in any case; rewritten in lower case.
Check OneOfCheck(const std::vector<std::string>& accepted);

// 1536 -> "1.5 KiB".
std::string FormatBytes(double bytes);
// 65536 -> "64K", 1 << 30 -> "1G", 5000 -> "5000": the largest unit that divides it; a
// size of a MiB or more that no unit divides well as FormatBytes does ("23.5 GiB").
std::string FormatSize(std::uint64_t bytes);

}  // namespace getmfs::cli

#endif  // GETMFS_CLI_SIZE_H_
