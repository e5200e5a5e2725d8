// Reading a manifest file, PATH rules, and the checks across entries (manifest.h).
#include "manifest/manifest.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string_view>

#include "manifest/entry_parsing.h"

namespace getmfs::manifest {
namespace {

using detail::BadInput;
using detail::EntryError;
using detail::Quote;

constexpr std::size_t kMaxComponent = 255;
constexpr std::size_t kMaxPath = 4096;

}  // namespace

std::string EntryLocation(const ManifestEntry& entry) {
  std::string file = entry.file.empty() ? "manifest" : entry.file;
  if (entry.json) return file + ": entry " + std::to_string(entry.line);
  return file + ":" + std::to_string(entry.line);
}

Status ValidatePathCharacters(const std::string& path) {
  if (path.empty()) return BadInput("path is empty");
  if (path.find('\0') != std::string::npos) {
    return BadInput("path " + Quote(path) + " contains a NUL byte");
  }
  // Control characters make names that terminals and scripts mangle (and can forge lines
  // in logs).
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return BadInput("path " + Quote(path) + " contains a control character");
    }
  }
  if (path.size() > kMaxPath) {
    return BadInput("path " + Quote(path) + " is longer than " + std::to_string(kMaxPath) +
                    " bytes");
  }
  return Ok{};
}

Status ValidateRelativePath(const std::string& path) {
  if (Status characters = ValidatePathCharacters(path); !characters) return characters;
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
    if (entry.path.empty() || !entry.getm_target.empty()) continue;
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

Result<Manifest> ParseManifestText(const std::string& text, const std::string& name, ParseRules rules) {
  std::string_view body = text;
  if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);  // UTF-8 byte order mark
  std::string stripped(body);
  std::size_t first = stripped.find_first_not_of(" \t\r\n\v\f");
  bool json = first != std::string::npos && stripped[first] == '[';
  auto manifest = json ? detail::ParseJson(stripped, name, rules) : detail::ParseText(stripped, name);
  if (!manifest) return manifest;
  if (manifest->entries.empty()) return BadInput("no URLs in " + name);
  auto paths = CheckPaths(manifest->entries);
  if (!paths) return paths.error();
  return manifest;
}

Result<Manifest> ParseManifestFile(const std::string& file_path, ParseRules rules) {
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
  return ParseManifestText(text, file_path, rules);
}

}  // namespace getmfs::manifest
