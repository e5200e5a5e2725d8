// getm's JSON manifest: a list of {"url", "filepath", "checksum", "checksum-algorithm"}
// objects, plus "size".
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "http/signed_url.h"
#include "manifest/entry_parsing.h"

namespace getmfs::manifest::detail {
namespace {

constexpr const char* kKnownJsonKeys = "url, filepath, checksum, checksum-algorithm, size";
constexpr const char* kKnownJsonAlgorithms = "md5, gs_crc32c, s3_etag, sha256, crc32c, null";

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

Status JsonSize(const nlohmann::json& item, ManifestEntry& entry) {
  auto it = item.find("size");
  if (it == item.end() || it->is_null()) return Ok{};
  if (it->is_number_unsigned()) {
    entry.size = it->get<std::uint64_t>();
  } else if (it->is_string()) {
    entry.size = ParseBytes(it->get<std::string>());
    if (!entry.size) return EntryError(entry, "size " + Quote(it->get<std::string>()) + " is not a number of bytes");
  } else {
    return EntryError(entry, "size " + it->dump() + " is not a number of bytes");
  }
  return Ok{};
}

Status JsonChecksum(const nlohmann::json& item, ManifestEntry& entry) {
  std::optional<Error> error;
  auto checksum = StringMember(item, "checksum", entry, &error);
  if (error) return *error;
  auto algorithm = StringMember(item, "checksum-algorithm", entry, &error);
  if (error) return *error;
  if (algorithm && !IsKnownJsonAlgorithm(*algorithm)) {
    return EntryError(entry, "unknown checksum-algorithm " + Quote(*algorithm) +
                                 " (known: " + kKnownJsonAlgorithms + ")");
  }
  if (checksum && !algorithm) return EntryError(entry, "\"checksum\" given without \"checksum-algorithm\"");
  if (algorithm && !checksum && *algorithm != "null") {
    return EntryError(entry, "\"checksum-algorithm\" " + Quote(*algorithm) + " given without \"checksum\"");
  }
  if (!algorithm) return Ok{};
  auto expected = ParseChecksum(*algorithm, checksum.value_or(""), entry);
  if (!expected) return expected.error();
  entry.checksum = std::move(*expected);
  return Ok{};
}

Result<ManifestEntry> ParseJsonEntry(const nlohmann::json& item, const std::string& name, int index, ParseRules rules) {
  ManifestEntry entry;
  entry.file = name;
  entry.line = index;
  entry.json = true;
  if (!item.is_object()) return EntryError(entry, "expected an object with a \"url\"");
  for (const auto& [key, value] : item.items()) {
    if (key != "url" && key != "filepath" && key != "checksum" && key != "checksum-algorithm" && key != "size") {
      return EntryError(entry, "unknown key " + Quote(key) + " (known: " + kKnownJsonKeys + ")");
    }
  }
  std::optional<Error> error;
  auto url = StringMember(item, "url", entry, &error);
  if (error) return *error;
  if (!url) return EntryError(entry, "no \"url\"");
  entry.url = std::move(*url);
  if (Status source = TakeSource(entry); !source) return source.error();
  auto filepath = StringMember(item, "filepath", entry, &error);
  if (error) return *error;
  if (filepath && filepath->empty()) filepath.reset();  // as getm: "" means not given
  for (Status parsed : {JsonSize(item, entry), JsonChecksum(item, entry)}) {
    if (!parsed) return parsed.error();
  }
  if (filepath && rules.getm_targets) {
    if (Status valid = ValidatePathCharacters(*filepath); !valid) return EntryError(entry, valid.error().message);
    entry.path = entry.getm_target = *filepath;
    return entry;
  }
  return WithPath(std::move(entry), filepath ? &*filepath : nullptr);
}

}  // namespace

Result<Manifest> ParseJson(const std::string& text, const std::string& name, ParseRules rules) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    std::string reason = JsonErrorReason(e.what());
    return BadInput(name + ": invalid JSON at byte " + std::to_string(e.byte) + " (" +
                    LineColumn(text, e.byte) + ")" + (reason.empty() ? "" : ": " + reason));
  } catch (const nlohmann::json::out_of_range&) {
    // A number past what a double holds (1e999): nlohmann throws this instead of a parse_error.
    return BadInput(name + ": invalid JSON: a number is out of range");
  }
  if (!doc.is_array()) return BadInput(name + ": expected a JSON list of entries");
  Manifest manifest;
  int index = 0;
  for (const auto& item : doc) {
    auto entry = ParseJsonEntry(item, name, ++index, rules);
    if (!entry) return entry.error();
    manifest.entries.push_back(std::move(*entry));
  }
  return manifest;
}

}  // namespace getmfs::manifest::detail
