// Hostile manifests: urls.txt text and getm's JSON list (ParseManifestText picks the format).
// A manifest either parses into entries that all have usable, distinct paths, or fails with a
// kBadInput error naming the file; nothing else.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "manifest/manifest.h"

namespace {

[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "manifest invariant broken: %s: %s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace getmfs;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto manifest = manifest::ParseManifestText(text, "urls.txt");
  if (!manifest.ok()) {
    const Error& error = manifest.error();
    if (error.kind != ErrorKind::kBadInput) Fail("error kind", error.message);
    if (error.message.find("urls.txt") == std::string::npos) Fail("error does not name the file", error.message);
    return 0;
  }
  std::set<std::string> paths;
  for (const auto& entry : manifest->entries) {
    if (entry.line < 1) Fail("entry without a line", entry.path);
    if (entry.path.empty()) continue;   // derived later from Content-Disposition
    if (!manifest::ValidateRelativePath(entry.path).ok()) Fail("unusable path accepted", entry.path);
    if (!paths.insert(entry.path).second) Fail("duplicate path accepted", entry.path);
  }
  if (!manifest::CheckPaths(manifest->entries).ok()) Fail("CheckPaths", "refuses a parsed manifest");
  return 0;
}
