// `getmfs get`'s items: building, DRS resolution, probing and fresh URLs (get_items.h).
#include "cli/get_items.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <thread>

#include "cli/destination.h"
#include "drs/drs_manifest.h"
#include "drs/drs_uri.h"
#include "fs/url_refresher.h"
#include "util/log.h"

namespace getmfs::cli {
namespace {

namespace stdfs = std::filesystem;

bool IsDirectoryTarget(const std::string& output) {
  if (output.empty()) return true;
  if (IsStandardOutput(output)) return false;
  if (output.back() == '/') return true;
  std::error_code ec;
  return stdfs::is_directory(output, ec);
}

Item ItemFor(const manifest::ManifestEntry& entry) {
  Item item;
  item.url = entry.url;
  item.drs_uri = entry.drs_uri;
  item.signed_url = http::SignedUrl(entry.url, entry.headers);
  item.relative = entry.path;
  item.getm_target = entry.getm_target;
  item.label = entry.path.empty() ? manifest::EntryLocation(entry) : entry.path;
  if (entry.checksum.known()) item.user_checksum = entry.checksum;
  item.manifest_size = entry.size;
  return item;
}

Result<std::vector<Item>> ManifestItems(const GetConfig& config, const drs::DrsOptions& drs) {
  if (IsStandardOutput(config.output)) {
    return Error{ErrorKind::kBadInput, "with --manifest, the destination cannot be standard output (-): several files "
                                       "cannot go to one stream; give a directory (-O ./- for a directory named -)"};
  }
  auto manifest = manifest::ParseManifestFile(config.manifest, {.getm_targets = true});
  if (!manifest) return manifest.error();
  std::error_code ec;
  if (!config.output.empty() && stdfs::exists(config.output, ec) && !stdfs::is_directory(config.output, ec)) {
    return Error{ErrorKind::kBadInput, "with --manifest, -O must name a directory (" + config.output + " is a file)"};
  }
  auto failed = drs::ResolveDrsEntries(&*manifest, drs);
  if (failed.empty()) {
    if (Status paths = manifest::CheckPaths(manifest->entries); !paths) return paths.error();
  }
  std::vector<Item> items;
  for (std::size_t i = 0; i < manifest->entries.size(); ++i) {
    items.push_back(ItemFor(manifest->entries[i]));
    if (auto it = failed.find(i); it != failed.end()) items.back().error = it->second;
  }
  return items;
}

// --checksum / --checksum-algorithm for the one URL.
Status ApplyUserChecksum(const GetConfig& config, Item* item) {
  if (config.checksum.empty() && config.checksum_algorithm.empty()) return Ok{};
  if (config.checksum.empty() && config.checksum_algorithm != "null") {
    return Error{ErrorKind::kBadInput, "--checksum-algorithm needs --checksum VALUE"};
  }
  auto parsed = integrity::ParseUserChecksum(config.checksum_algorithm.empty() ? "md5" : config.checksum_algorithm,
                                             config.checksum, "--checksum");
  if (!parsed) return parsed.error();
  parsed->s3_part_size = config.s3_part_size;
  item->user_checksum = *parsed;
  return Ok{};
}

Result<Item> SingleItem(const GetConfig& config, const drs::DrsOptions& drs) {
  Item item;
  if (drs::IsDrsUri(config.url)) {
    auto resolved = drs::Resolve(config.url, drs);
    if (!resolved) return resolved.error();
    item.drs_uri = config.url;
    item.url = resolved->url;
    item.signed_url = resolved->access();
    item.relative = manifest::ValidateRelativePath(resolved->name) ? resolved->name : "";
    item.label = config.url;
    if (resolved->checksum.known()) item.user_checksum = resolved->checksum;
    item.manifest_size = resolved->size;
  } else if (http::IsHttpUrl(config.url)) {
    item.url = config.url;
    item.signed_url = http::SignedUrl(config.url);
    item.label = item.signed_url.redacted();
  } else {
    return Error{ErrorKind::kBadInput, "\"" + http::RedactUrl(config.url) + "\" is not an http(s) URL or a drs:// URI"};
  }
  if (Status given = ApplyUserChecksum(config, &item); !given) return given.error();
  if (!IsDirectoryTarget(config.output)) item.destination = config.output;
  return item;
}

}  // namespace

Result<std::vector<Item>> BuildItems(const GetConfig& config, const drs::DrsOptions& drs) {
  if (!config.manifest.empty()) return ManifestItems(config, drs);
  auto item = SingleItem(config, drs);
  if (!item) return item.error();
  std::vector<Item> items;
  items.push_back(std::move(*item));
  return items;
}

std::optional<http::SignedUrl> UrlRenewer::FreshUrl(const Item& item) {
  if (config_.refresh_command.empty()) {
    if (item.drs_uri.empty()) return std::nullopt;
    LOG(Info) << item.label << ": the access URL expired; resolving " << item.drs_uri << " again";
    auto resolved = drs::Resolve(item.drs_uri, drs_);
    if (!resolved) {
      LOG(Warning) << item.label << ": " << resolved.error().message;
      return std::nullopt;
    }
    return resolved->access();
  }
  auto asked = std::chrono::steady_clock::now();
  std::scoped_lock lock(mu_);
  if (!latest_ || latest_at_ < asked) {
    auto manifest = fs::ManifestFromCommand(config_.refresh_command, config_.refresh_timeout_seconds);
    if (!manifest) {
      LOG(Warning) << item.label << ": the URL expired and " << manifest.error().message;
      return std::nullopt;
    }
    latest_ = std::move(*manifest);
    latest_at_ = std::chrono::steady_clock::now();
  }
  for (const auto& entry : latest_->entries) {
    if (entry.path != item.relative || item.relative.empty()) continue;
    if (!entry.drs_uri.empty()) {
      auto resolved = drs::Resolve(entry.drs_uri, drs_);
      if (!resolved) break;
      return resolved->access();
    }
    return http::SignedUrl(entry.url, entry.headers);
  }
  LOG(Warning) << item.label << ": the URL expired and the refresh command's manifest has no usable entry for it";
  return std::nullopt;
}

void ProbeAll(std::vector<Item>& items, const http::ProbeOptions& options, UrlRenewer* renewer) {
  std::atomic<std::size_t> next{0};
  int threads = static_cast<int>(std::min<std::size_t>(items.size(), 8));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (std::size_t i = next++; i < items.size(); i = next++) {
        Item& item = items[i];
        if (item.error) continue;   // did not resolve
        auto meta = http::Probe(item.signed_url, options);
        if (!meta && meta.error().kind == ErrorKind::kExpired && renewer->enabled(item)) {
          if (auto fresh = renewer->FreshUrl(item)) {
            item.signed_url = *fresh;
            meta = http::Probe(item.signed_url, options);
          }
        }
        if (meta) {
          item.meta = *meta;
        } else {
          item.error = meta.error();
        }
      }
    });
  }
  for (auto& t : pool) t.join();
}

}  // namespace getmfs::cli
