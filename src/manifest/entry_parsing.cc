// The pieces both manifest formats share (entry_parsing.h).
#include "manifest/entry_parsing.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "drs/drs_uri.h"
#include "http/signed_url.h"

namespace getmfs::manifest::detail {
namespace {
constexpr std::size_t kMaxQuoted = 200;  // longer strings are shortened in messages
}  // namespace

Error BadInput(std::string message) { return Error{ErrorKind::kBadInput, std::move(message)}; }

// A string in double quotes for a message: control characters escaped, long strings shortened.
// Never used on URLs (those go through http::RedactUrl first).
std::string Quote(std::string_view s) {
  std::string out = "\"";
  std::size_t n = std::min(s.size(), kMaxQuoted);
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (n < s.size()) out += "...";
  out += '"';
  return out;
}

std::string QuoteUrl(const std::string& url) { return Quote(http::RedactUrl(url)); }

// Decimal digits only, fitting in 64 bits.
std::optional<std::uint64_t> ParseBytes(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, 10);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

// An error in an entry: "urls.txt:7: <message>".
Error EntryError(const ManifestEntry& entry, const std::string& message) {
  return BadInput(EntryLocation(entry) + ": " + message);
}

// See entry_parsing.h.
Status TakeSource(ManifestEntry& entry) {
  if (drs::IsDrsUri(entry.url)) {
    auto uri = drs::ParseDrsUri(entry.url);
    if (!uri) return EntryError(entry, uri.error().message);
    entry.drs_uri = std::move(entry.url);
    entry.url.clear();   // resolved later (drs/drs_manifest.h)
    return Ok{};
  }
  if (!http::IsHttpUrl(entry.url)) {
    return EntryError(entry, QuoteUrl(entry.url) + " is not an http(s) URL or a drs:// URI");
  }
  return Ok{};
}

// See entry_parsing.h.
Result<ManifestEntry> WithPath(ManifestEntry entry, const std::string* given) {
  if (given != nullptr) {
    auto valid = ValidateRelativePath(*given);
    if (!valid) return EntryError(entry, valid.error().message);
    entry.path = *given;
    return entry;
  }
  std::string derived = http::UrlBasename(entry.url);
  if (derived.empty()) {  // the URL path ends in '/': Content-Disposition will name it
    entry.path.clear();
    return entry;
  }
  auto valid = ValidateRelativePath(derived);
  if (!valid) {
    return EntryError(entry, "cannot use the end of " + QuoteUrl(entry.url) + " as a file name (" +
                                 valid.error().message + "); give a path");
  }
  entry.path = std::move(derived);
  return entry;
}

// The entry's checksum; its source is "manifest urls.txt:7". The source is added after parsing
// so that an error message names the location once (as its "urls.txt:7: " prefix).
Result<integrity::Expected> ParseChecksum(const std::string& algorithm, const std::string& value,
                                          const ManifestEntry& entry) {
  auto expected = integrity::ParseUserChecksum(algorithm, value, "");
  if (!expected) return EntryError(entry, expected.error().message);
  if (expected->known()) expected->source = "manifest " + EntryLocation(entry);
  return expected;
}

}  // namespace getmfs::manifest::detail
