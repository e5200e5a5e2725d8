// urls.txt: one entry per line, `URL [PATH] [key=value ...]`.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/signed_url.h"
#include "manifest/entry_parsing.h"

namespace getmfs::manifest::detail {
namespace {

constexpr const char* kKnownKeys = "size, md5, crc32c, sha256, s3etag, s3_part_size";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::vector<std::string_view> Tokens(std::string_view line) {
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && IsSpace(line[i])) ++i;
    if (i >= line.size() || line[i] == '#') break;  // a token starting with '#' is a comment
    std::size_t start = i;
    while (i < line.size() && !IsSpace(line[i])) ++i;
    tokens.push_back(line.substr(start, i - start));
  }
  return tokens;
}

bool IsKnownKey(std::string_view key) {
  for (const char* known : {"size", "md5", "crc32c", "sha256", "s3etag", "s3_part_size"}) {
    if (key == known) return true;
  }
  return false;
}

// Whether a token is one of the known key=value options (so not a PATH).
bool IsOptionToken(std::string_view token) {
  auto eq = token.find('=');
  return eq != std::string_view::npos && IsKnownKey(token.substr(0, eq));
}

// The integrity algorithm name for a urls.txt checksum key, or nullptr.
const char* ChecksumAlgorithm(std::string_view key) {
  if (key == "md5") return "md5";
  if (key == "sha256") return "sha256";
  if (key == "crc32c") return "crc32c";
  if (key == "s3etag") return "s3_etag";
  return nullptr;
}

// The key=value options after URL and PATH.
struct LineOptions {
  std::optional<std::uint64_t> size;
  std::string checksum_key, checksum_value;
  std::optional<std::uint64_t> part_size;
};

Status ParseOption(std::string_view token, const ManifestEntry& entry, LineOptions* options) {
  auto eq = token.find('=');
  if (eq == std::string_view::npos) {
    return EntryError(entry, "unexpected " + Quote(token) +
                                 " (after URL and PATH only key=value options may follow)");
  }
  std::string_view key = token.substr(0, eq);
  std::string_view value = token.substr(eq + 1);
  if (!IsKnownKey(key)) {
    return EntryError(entry, "unknown key " + Quote(key) + " (known: " + kKnownKeys + ")");
  }
  if (key == "size") {
    if (options->size) return EntryError(entry, "size= given twice");
    options->size = ParseBytes(value);
    if (!options->size) return EntryError(entry, "size " + Quote(value) + " is not a number of bytes");
  } else if (key == "s3_part_size") {
    if (options->part_size) return EntryError(entry, "s3_part_size= given twice");
    options->part_size = ParseBytes(value);
    if (!options->part_size || *options->part_size == 0) {
      return EntryError(entry, "s3_part_size " + Quote(value) + " is not a positive number of bytes");
    }
  } else {
    if (!options->checksum_key.empty()) {
      return EntryError(entry, "more than one checksum (" + options->checksum_key + "= and " +
                                   std::string(key) + "=); give at most one");
    }
    options->checksum_key = std::string(key);
    options->checksum_value = std::string(value);
  }
  return Ok{};
}

// Applies the options' checksum (and its S3 part size) to the entry.
Status ApplyChecksum(const LineOptions& options, ManifestEntry& entry) {
  if (!options.checksum_key.empty()) {
    auto expected = ParseChecksum(ChecksumAlgorithm(options.checksum_key), options.checksum_value, entry);
    if (!expected) return expected.error();
    entry.checksum = std::move(*expected);
  }
  if (options.part_size) {
    if (options.checksum_key != "s3etag") return EntryError(entry, "s3_part_size= needs s3etag=");
    entry.checksum.s3_part_size = static_cast<std::size_t>(*options.part_size);
  }
  return Ok{};
}

Result<ManifestEntry> ParseLine(const std::vector<std::string_view>& tokens, const std::string& name,
                                int line_number) {
  ManifestEntry entry;
  entry.file = name;
  entry.line = line_number;
  entry.url = std::string(tokens[0]);
  if (Status source = TakeSource(entry); !source) return source.error();
  std::size_t next = 1;
  std::optional<std::string> given_path;
  if (tokens.size() > 1 && !IsOptionToken(tokens[1])) {
    given_path = std::string(tokens[1]);
    next = 2;
  }
  LineOptions options;
  for (std::size_t i = next; i < tokens.size(); ++i) {
    Status parsed = ParseOption(tokens[i], entry, &options);
    if (!parsed) return parsed.error();
  }
  entry.size = options.size;
  Status checksum = ApplyChecksum(options, entry);
  if (!checksum) return checksum.error();
  return WithPath(std::move(entry), given_path ? &*given_path : nullptr);
}

}  // namespace

Result<Manifest> ParseText(const std::string& text, const std::string& name) {
  Manifest manifest;
  int line_number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string_view line(text.data() + pos, eol - pos);
    pos = eol + 1;
    ++line_number;
    auto tokens = Tokens(line);
    if (tokens.empty()) continue;
    auto entry = ParseLine(tokens, name, line_number);
    if (!entry) return entry.error();
    manifest.entries.push_back(std::move(*entry));
  }
  return manifest;
}

}  // namespace getmfs::manifest::detail
