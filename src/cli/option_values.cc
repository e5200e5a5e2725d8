// Shared pieces of the option tables (option_values.h).
#include "cli/option_values.h"

#include <unistd.h>

namespace getmfs::cli {

CLI::Option* Checked(CLI::Option* option, Check check, const char* type) {
  return option->transform(CLI::Validator(std::move(check), ""))->type_name(type);
}

std::uint64_t PhysicalMemory() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return std::uint64_t{1} << 40;
  return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page);
}

std::int64_t Number(const std::string& text) { return ParseCount(text, 0, INT64_MAX).value_or(0); }

std::size_t Bytes(const std::string& text) { return static_cast<std::size_t>(ParseSize(text).value_or(0)); }

std::optional<int> ParseConcurrency(const std::string& text) {
  if (text == "none") return std::nullopt;
  return static_cast<int>(Number(text));
}

double Seconds(const std::string& text) { return ParseSeconds(text, kMaxSeconds).value_or(0); }

}  // namespace getmfs::cli
