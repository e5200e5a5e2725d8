// Option values: sizes with suffixes (64K, 8M, 1G), counts, seconds and modes, checked
// strictly; and bytes for people.
#include "cli/size.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "http/signed_url.h"

namespace getmfs::cli {
namespace {

bool AllDigits(const std::string& text, char last = '9') {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > last) return false;
  }
  return true;
}

std::string Quoted(const std::string& text) { return "\"" + text + "\""; }

// The shift of a size's unit ("", "K", "MiB", ...), or -1.
int UnitShift(std::string unit) {
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.empty() || unit == "B") return 0;
  const char* letters = "KMGT";
  for (int i = 0; i < 4; ++i) {
    std::string u(1, letters[i]);
    if (unit == u || unit == u + "B" || unit == u + "IB") return 10 * (i + 1);
  }
  return -1;
}

}  // namespace

std::optional<std::uint64_t> ParseSize(const std::string& text) {
  std::size_t i = 0;
  std::uint64_t value = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    auto digit = static_cast<std::uint64_t>(text[i] - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  if (i == 0) return std::nullopt;
  int shift = UnitShift(text.substr(i));
  if (shift < 0 || (shift > 0 && value > (UINT64_MAX >> shift))) return std::nullopt;
  return value << shift;
}

std::optional<std::int64_t> ParseCount(const std::string& text, std::int64_t min, std::int64_t max) {
  if (!AllDigits(text)) return std::nullopt;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) return std::nullopt;
  return value;
}

std::optional<double> ParseSeconds(const std::string& text, double max) {
  auto dot = text.find('.');
  std::string digits = dot == std::string::npos ? text : text.substr(0, dot) + text.substr(dot + 1);
  if (!AllDigits(digits)) return std::nullopt;   // also: no second '.', sign, exponent or letter
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
  if (!(value > 0) || value > max) return std::nullopt;
  return value;
}

std::optional<std::uint32_t> ParseMode(const std::string& text) {
  if (!AllDigits(text, '7')) return std::nullopt;
  std::size_t start = text.find_first_not_of('0');
  if (start == std::string::npos) return 0;
  if (text.size() - start > 4) return std::nullopt;
  std::uint32_t mode = 0;
  for (std::size_t i = start; i < text.size(); ++i) mode = mode * 8 + static_cast<std::uint32_t>(text[i] - '0');
  return mode;
}

Check SizeCheck(std::uint64_t min, std::uint64_t max) {
  return [=](std::string& text) -> std::string {
    auto bytes = ParseSize(text);
    if (!bytes || *bytes < min || *bytes > max) {
      return Quoted(text) + " is not a size from " + FormatSize(min) + " to " + FormatSize(max) +
             " (bytes, or with a unit K, M, G or T: 64K, 8M, 1G)";
    }
    text = std::to_string(*bytes);
    return "";
  };
}

Check PageMultipleCheck(std::uint64_t min, std::uint64_t max) {
  return [size = SizeCheck(min, max), min, max](std::string& text) {
    std::string given = text;
    std::string error = size(text);
    if (error.empty() && ParseSize(text).value_or(0) % 4096 != 0) {
      return Quoted(given) + " is not a multiple of 4096 (4K): give whole pages from " + FormatSize(min) + " to " +
             FormatSize(max) + ", such as 16K or 64K";
    }
    return error;
  };
}

Check CountCheck(std::int64_t min, std::int64_t max, bool none_too) {
  return [=](std::string& text) -> std::string {
    if (none_too && text == "none") return "";
    auto value = ParseCount(text, min, max);
    if (!value) {
      return Quoted(text) + " is not a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
             (none_too ? ", or none" : "");
    }
    text = std::to_string(*value);
    return "";
  };
}

Check SecondsCheck(double max) {
  return [max](std::string& text) -> std::string {
    if (ParseSeconds(text, max)) return "";
    char limit[32];
    std::snprintf(limit, sizeof limit, "%.0f", max);
    return Quoted(text) + " is not a number of seconds greater than 0 and at most " + limit + " (such as 2.5 or 300)";
  };
}

Check ModeCheck() {
  return [](std::string& text) -> std::string {
    if (ParseMode(text)) return "";
    return Quoted(text) + " is not octal permissions from 0 to 7777 (such as 0444 or 0555)";
  };
}

Check IdCheck() {
  return [](std::string& text) -> std::string {
    auto id = ParseCount(text, 0, 4294967294);
    if (!id) return Quoted(text) + " is not a numeric id from 0 to 4294967294 (names are not looked up)";
    text = std::to_string(*id);
    return "";
  };
}

Check NotEmptyCheck(const std::string& what) {
  return [what](std::string& text) -> std::string { return text.empty() ? "the value is empty: give " + what : ""; };
}

Check ReadableFileCheck(const std::string& what) {
  return [what](std::string& text) -> std::string {
    if (text.empty()) return "the value is empty: give " + what;
    std::FILE* f = std::fopen(text.c_str(), "r");
    if (f == nullptr) return "cannot read " + text + " (" + std::strerror(errno) + "): give " + what;
    std::fclose(f);
    return "";
  };
}

Check HttpUrlCheck(const std::string& what) {
  return [what](std::string& text) -> std::string {
    if (!http::IsHttpUrl(text)) return "\"" + http::RedactUrl(text) + "\" is not an http(s) URL: give " + what;
    if (text.find_first_of("?#") != std::string::npos) return "give " + what + " without a query string";
    return "";
  };
}

Check OneOfCheck(const std::vector<std::string>& accepted) {
  return [accepted](std::string& text) -> std::string {
    std::string lower = text, list;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& a : accepted) {
      if (lower == a) {
        text = a;
        return "";
      }
      list += (list.empty() ? "" : ", ") + a;
    }
    return Quoted(text) + " is not one of " + list;
  };
}

std::string FormatBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

std::string FormatSize(std::uint64_t bytes) {
  const char* units[] = {"", "K", "M", "G", "T"};
  int u = 0;
  std::uint64_t n = bytes;
  while (u < 4 && n >= 1024 && n % 1024 == 0) {
    n /= 1024;
    ++u;
  }
  if (n >= 1024 && bytes >= (std::uint64_t{1} << 20)) return FormatBytes(static_cast<double>(bytes));
  return std::to_string(n) + units[u];
}

}  // namespace getmfs::cli
