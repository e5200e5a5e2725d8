#include "fs/manifest.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>
#include <utility>

#include "http/signed_url.h"

namespace getmfs::fs {
namespace {

constexpr std::size_t kMaxComponent = 255;
constexpr std::size_t kMaxPath = 4096;
constexpr std::size_t kMaxQuoted = 200;  // longer strings are shortened in messages

constexpr const char* kKnownKeys = "size, md5, crc32c, sha256, s3etag, s3_part_size";
constexpr const char* kKnownJsonKeys = "url, filepath, checksum, checksum-algorithm, size";
constexpr const char* kKnownJsonAlgorithms = "md5, gs_crc32c, s3_etag, sha256, crc32c, null";

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

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

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

// Fills entry.path from the URL when no path was given, and validates the path.
Status SetPath(ManifestEntry& entry, const std::string* given) {
  if (given != nullptr) {
    auto valid = ValidateRelativePath(*given);
    if (!valid) return EntryError(entry, valid.error().message);
    entry.path = *given;
    return Ok{};
  }
  std::string derived = http::UrlBasename(entry.url);
  if (derived.empty()) {  // the URL path ends in '/': Content-Disposition will name it
    entry.path.clear();
    return Ok{};
  }
  auto valid = ValidateRelativePath(derived);
  if (!valid) {
    return EntryError(entry, "cannot use the end of " + QuoteUrl(entry.url) + " as a file name (" +
                                 valid.error().message + "); give a path");
  }
  entry.path = std::move(derived);
  return Ok{};
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

// ---- urls.txt ----

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

Result<ManifestEntry> ParseLine(const std::vector<std::string_view>& tokens,
                                const std::string& name, int line_number) {
  ManifestEntry entry;
  entry.file = name;
  entry.line = line_number;
  entry.url = std::string(tokens[0]);
  if (!http::IsHttpUrl(entry.url)) {
    return EntryError(entry, QuoteUrl(entry.url) + " is not an http(s) URL");
  }

  std::size_t next = 1;
  std::optional<std::string> given_path;
  if (tokens.size() > 1 && !IsOptionToken(tokens[1])) {
    given_path = std::string(tokens[1]);
    next = 2;
  }

  std::string checksum_key, checksum_value;
  std::optional<std::uint64_t> part_size;
  for (std::size_t i = next; i < tokens.size(); ++i) {
    std::string_view token = tokens[i];
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
      if (entry.size) return EntryError(entry, "size= given twice");
      entry.size = ParseBytes(value);
      if (!entry.size) {
        return EntryError(entry, "size " + Quote(value) + " is not a number of bytes");
      }
    } else if (key == "s3_part_size") {
      if (part_size) return EntryError(entry, "s3_part_size= given twice");
      part_size = ParseBytes(value);
      if (!part_size || *part_size == 0) {
        return EntryError(entry,
                          "s3_part_size " + Quote(value) + " is not a positive number of bytes");
      }
    } else {
      if (!checksum_key.empty()) {
        return EntryError(entry, "more than one checksum (" + checksum_key + "= and " +
                                     std::string(key) + "=); give at most one");
      }
      checksum_key = std::string(key);
      checksum_value = std::string(value);
    }
  }

  if (!checksum_key.empty()) {
    auto expected = ParseChecksum(ChecksumAlgorithm(checksum_key), checksum_value, entry);
    if (!expected) return expected.error();
    entry.checksum = std::move(*expected);
  }
  if (part_size) {
    if (checksum_key != "s3etag") return EntryError(entry, "s3_part_size= needs s3etag=");
    entry.checksum.s3_part_size = static_cast<std::size_t>(*part_size);
  }

  auto path = SetPath(entry, given_path ? &*given_path : nullptr);
  if (!path) return path.error();
  return entry;
}

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

// ---- getm's JSON manifest ----

// The description in a nlohmann parse error, without the "last read" input it quotes (which
// may hold a signed URL).
std::string JsonErrorReason(const char* what) {
  std::string s = what;
  auto column = s.find("column ");
  auto colon = s.find(": ", column == std::string::npos ? 0 : column);
  if (colon == std::string::npos) return "";
  s = s.substr(colon + 2);
  auto last_read = s.find("; last read:");
  if (last_read != std::string::npos) s.erase(last_read);
  return s;
}

// Line and column (1-based) of a 1-based byte position.
std::string LineColumn(const std::string& text, std::size_t byte) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i + 1 < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

bool IsKnownJsonAlgorithm(const std::string& name) {
  for (const char* known : {"md5", "gs_crc32c", "s3_etag", "sha256", "crc32c", "null"}) {
    if (name == known) return true;
  }
  return false;
}

// A string member, or nullopt when absent or null; sets *error for any other type.
std::optional<std::string> StringMember(const nlohmann::json& object, const char* key,
                                        const ManifestEntry& entry, std::optional<Error>* error) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    *error = EntryError(entry, std::string("\"") + key + "\" must be a string");
    return std::nullopt;
  }
  return it->get<std::string>();
}

Result<ManifestEntry> ParseJsonEntry(const nlohmann::json& item, const std::string& name,
                                     int index) {
  ManifestEntry entry;
  entry.file = name;
  entry.line = index;
  entry.json = true;
  if (!item.is_object()) return EntryError(entry, "expected an object with a \"url\"");
  for (const auto& [key, value] : item.items()) {
    if (key != "url" && key != "filepath" && key != "checksum" && key != "checksum-algorithm" &&
        key != "size") {
      return EntryError(entry, "unknown key " + Quote(key) + " (known: " + kKnownJsonKeys + ")");
    }
  }

  std::optional<Error> error;
  auto url = StringMember(item, "url", entry, &error);
  if (error) return *error;
  if (!url) return EntryError(entry, "no \"url\"");
  entry.url = std::move(*url);
  if (!http::IsHttpUrl(entry.url)) {
    return EntryError(entry, QuoteUrl(entry.url) + " is not an http(s) URL");
  }

  auto filepath = StringMember(item, "filepath", entry, &error);
  if (error) return *error;
  if (filepath && filepath->empty()) filepath.reset();  // as getm: "" means not given

  auto it = item.find("size");
  if (it != item.end() && !it->is_null()) {
    if (it->is_number_unsigned()) {
      entry.size = it->get<std::uint64_t>();
    } else if (it->is_string()) {
      entry.size = ParseBytes(it->get<std::string>());
      if (!entry.size) {
        return EntryError(entry,
                          "size " + Quote(it->get<std::string>()) + " is not a number of bytes");
      }
    } else {
      return EntryError(entry, "size " + it->dump() + " is not a number of bytes");
    }
  }

  auto checksum = StringMember(item, "checksum", entry, &error);
  if (error) return *error;
  auto algorithm = StringMember(item, "checksum-algorithm", entry, &error);
  if (error) return *error;
  if (algorithm && !IsKnownJsonAlgorithm(*algorithm)) {
    return EntryError(entry, "unknown checksum-algorithm " + Quote(*algorithm) +
                                 " (known: " + kKnownJsonAlgorithms + ")");
  }
  if (checksum && !algorithm) {
    return EntryError(entry, "\"checksum\" given without \"checksum-algorithm\"");
  }
  if (algorithm && !checksum && *algorithm != "null") {
    return EntryError(
        entry, "\"checksum-algorithm\" " + Quote(*algorithm) + " given without \"checksum\"");
  }
  if (algorithm) {
    auto expected = ParseChecksum(*algorithm, checksum.value_or(""), entry);
    if (!expected) return expected.error();
    entry.checksum = std::move(*expected);
  }

  auto path = SetPath(entry, filepath ? &*filepath : nullptr);
  if (!path) return path.error();
  return entry;
}

Result<Manifest> ParseJson(const std::string& text, const std::string& name) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    std::string reason = JsonErrorReason(e.what());
    return BadInput(name + ": invalid JSON at byte " + std::to_string(e.byte) + " (" +
                    LineColumn(text, e.byte) + ")" + (reason.empty() ? "" : ": " + reason));
  }
  if (!doc.is_array()) return BadInput(name + ": expected a JSON list of entries");
  Manifest manifest;
  int index = 0;
  for (const auto& item : doc) {
    auto entry = ParseJsonEntry(item, name, ++index);
    if (!entry) return entry.error();
    manifest.entries.push_back(std::move(*entry));
  }
  return manifest;
}

}  // namespace

std::string EntryLocation(const ManifestEntry& entry) {
  std::string file = entry.file.empty() ? "manifest" : entry.file;
  if (entry.json) return file + ": entry " + std::to_string(entry.line);
  return file + ":" + std::to_string(entry.line);
}

Status ValidateRelativePath(const std::string& path) {
  if (path.empty()) return BadInput("path is empty");
  if (path.find('\0') != std::string::npos) {
    return BadInput("path " + Quote(path) + " contains a NUL byte");
  }
  if (path.size() > kMaxPath) {
    return BadInput("path " + Quote(path) + " is longer than " + std::to_string(kMaxPath) +
                    " bytes");
  }
  if (path.front() == '/')
    return BadInput("path " + Quote(path) + " is absolute (must be relative)");
  std::size_t start = 0;
  while (true) {
    std::size_t slash = path.find('/', start);
    std::string_view component(path.data() + start,
                               (slash == std::string::npos ? path.size() : slash) - start);
    if (component.empty()) return BadInput("path " + Quote(path) + " has an empty component");
    if (component == "." || component == "..") {
      return BadInput("path " + Quote(path) + " has a " + Quote(component) + " component");
    }
    if (component.size() > kMaxComponent) {
      return BadInput("path " + Quote(path) + " has a component longer than " +
                      std::to_string(kMaxComponent) + " bytes");
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return Ok{};
}

Status CheckPaths(const std::vector<ManifestEntry>& entries) {
  // "on line 3" / "in entry 3" when both entries come from the same file, else "at FILE:LINE".
  auto where = [](const ManifestEntry& later, const ManifestEntry& earlier) {
    if (later.file != earlier.file || later.json != earlier.json) {
      return "at " + EntryLocation(earlier);
    }
    return (earlier.json ? "in entry " : "on line ") + std::to_string(earlier.line);
  };
  std::map<std::string_view, const ManifestEntry*> files;
  std::map<std::string_view, const ManifestEntry*> dirs;  // directory -> first entry under it
  for (const auto& entry : entries) {
    if (entry.path.empty()) continue;
    std::string_view path = entry.path;
    if (auto it = files.find(path); it != files.end()) {
      return EntryError(
          entry, "duplicate path " + Quote(path) + " (first " + where(entry, *it->second) + ")");
    }
    if (auto it = dirs.find(path); it != dirs.end()) {
      return EntryError(entry, "path " + Quote(path) + " is a file here but a directory of " +
                                   Quote(it->second->path) + " " + where(entry, *it->second));
    }
    for (std::size_t slash = path.find('/'); slash != std::string_view::npos;
         slash = path.find('/', slash + 1)) {
      std::string_view dir = path.substr(0, slash);
      if (auto it = files.find(dir); it != files.end()) {
        return EntryError(entry, "path " + Quote(path) + " needs a directory " + Quote(dir) +
                                     ", which is a file " + where(entry, *it->second));
      }
      dirs.emplace(dir, &entry);
    }
    files.emplace(path, &entry);
  }
  return Ok{};
}

Result<Manifest> ParseManifestText(const std::string& text, const std::string& name) {
  std::string_view body = text;
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // UTF-8 byte order mark
  std::string stripped(body);
  std::size_t first = stripped.find_first_not_of(" \t\r\n\v\f");
  bool json = first != std::string::npos && stripped[first] == '[';
  auto manifest = json ? ParseJson(stripped, name) : ParseText(stripped, name);
  if (!manifest) return manifest;
  if (manifest->entries.empty()) return BadInput("no URLs in " + name);
  auto paths = CheckPaths(manifest->entries);
  if (!paths) return paths.error();
  return manifest;
}

Result<Manifest> ParseManifestFile(const std::string& file_path) {
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  auto read_error = [&](int err) {
    bool bad_name = err == ENOENT || err == ENOTDIR || err == EISDIR;
    return Error{bad_name ? ErrorKind::kBadInput : ErrorKind::kIo,
                 "cannot read manifest " + Quote(file_path) + ": " + std::strerror(err)};
  };
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(file_path.c_str(), "rb"));
  if (!f) return read_error(errno);
  std::string text;
  char buf[65536];
  while (true) {
    std::size_t n = std::fread(buf, 1, sizeof(buf), f.get());
    text.append(buf, n);
    if (n < sizeof(buf)) {
      if (std::ferror(f.get())) return read_error(errno);
      break;
    }
  }
  return ParseManifestText(text, file_path);
}

}  // namespace getmfs::fs
