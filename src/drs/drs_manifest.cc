// Resolving a manifest's drs:// entries (drs_manifest.h).
#include "drs/drs_manifest.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace getmfs::drs {
namespace {

Status Apply(const ResolvedObject& object, manifest::ManifestEntry* entry) {
  if (entry->path.empty()) {
    Status valid = manifest::ValidateRelativePath(object.name);
    if (!valid) {
      return Error{ErrorKind::kBadInput, "the DRS object's name \"" + object.name + "\" cannot be a file name (" +
                                             valid.error().message + "); give a path in the manifest"};
    }
    entry->path = object.name;
  }
  if (entry->size && object.size && *entry->size != *object.size) {
    return Error{ErrorKind::kChanged, "the manifest says " + std::to_string(*entry->size) + " bytes but the DRS object has " +
                                          std::to_string(*object.size)};
  }
  if (!entry->size) entry->size = object.size;
  if (!entry->checksum.known()) entry->checksum = object.checksum;
  entry->url = object.url;
  entry->headers = object.headers;
  return Ok{};
}

}  // namespace

bool HasDrsEntries(const manifest::Manifest& manifest) {
  return std::any_of(manifest.entries.begin(), manifest.entries.end(),
                     [](const manifest::ManifestEntry& e) { return !e.drs_uri.empty(); });
}

std::map<std::size_t, Error> ResolveDrsEntries(manifest::Manifest* manifest, const DrsOptions& options,
                                               bool only_unnamed) {
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < manifest->entries.size(); ++i) {
    const auto& entry = manifest->entries[i];
    if (!entry.drs_uri.empty() && (!only_unnamed || entry.path.empty())) todo.push_back(i);
  }
  std::map<std::size_t, Error> failed;
  std::mutex mu;
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t k = next++; k < todo.size(); k = next++) {
      manifest::ManifestEntry& entry = manifest->entries[todo[k]];
      auto resolved = Resolve(entry.drs_uri, options);
      Status applied = resolved ? Apply(*resolved, &entry) : Status(resolved.error());
      if (applied) continue;
      Error error = applied.error();
      error.message = manifest::EntryLocation(entry) + ": " + error.message;
      entry.url.clear();
      std::scoped_lock lock(mu);
      failed.emplace(todo[k], std::move(error));
    }
  };
  std::size_t threads = std::min<std::size_t>(todo.size(), static_cast<std::size_t>(std::max(1, options.concurrency)));
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  if (threads > 0) work();
  for (auto& t : pool) t.join();
  return failed;
}

Status ResolveAllDrsEntries(manifest::Manifest* manifest, const DrsOptions& options, bool only_unnamed) {
  auto failed = ResolveDrsEntries(manifest, options, only_unnamed);
  if (failed.empty()) return manifest::CheckPaths(manifest->entries);
  Error first = failed.begin()->second;
  if (failed.size() > 1) {
    first.message += " (and " + std::to_string(failed.size() - 1) + " more DRS URI" + (failed.size() > 2 ? "s" : "") +
                     " that did not resolve)";
  }
  return first;
}

Result<manifest::Manifest> LoadManifestFile(const std::string& file, const DrsOptions& options, bool only_unnamed) {
  auto manifest = manifest::ParseManifestFile(file);
  if (!manifest || !HasDrsEntries(*manifest)) return manifest;
  Status resolved = ResolveAllDrsEntries(&*manifest, options, only_unnamed);
  if (!resolved) return resolved.error();
  return manifest;
}

}  // namespace getmfs::drs
