// What `getmfs get` downloads: one item per URL, DRS URI or manifest entry, probed; and where
// a fresh URL comes from when one is refused as expired (a DRS URI resolved again, or
// --refresh-command's manifest).
#ifndef GETMFS_CLI_GET_ITEMS_H_
#define GETMFS_CLI_GET_ITEMS_H_

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cli/get_command.h"
#include "drs/drs_client.h"
#include "http/probe.h"
#include "http/signed_url.h"
#include "integrity/checksum.h"
#include "manifest/manifest.h"

namespace getmfs::cli {

struct Item {
  std::string url;                       // as given ("" for a DRS URI until resolved)
  std::string drs_uri;                   // the drs:// URI it came from, or ""
  http::SignedUrl signed_url;            // what is requested (with a DRS access's headers)
  std::string relative;                  // path under the output directory, or ""
  std::string getm_target;               // a JSON manifest's filepath, resolved as getm does
  std::string destination;               // final path, once known
  std::optional<integrity::Expected> user_checksum;   // manifest, --checksum or the DRS object
  std::optional<std::uint64_t> manifest_size;
  std::string label;                     // for messages: the path, or the manifest location
  http::ObjectMeta meta;
  std::optional<Error> error;
  bool done = false;
};

// The items of the command line (one URL or DRS URI) or of --manifest, DRS URIs resolved (an
// item that did not resolve carries its error). kBadInput for what makes no item at all.
Result<std::vector<Item>> BuildItems(const GetConfig& config, const drs::DrsOptions& drs);

// Fresh URLs for items whose URL expired: one refresh at a time; a refresh that ended after
// the request failed serves every item waiting for it.
class UrlRenewer {
 public:
  UrlRenewer(const GetConfig& config, drs::DrsOptions drs) : config_(config), drs_(std::move(drs)) {}
  bool enabled(const Item& item) const { return !item.drs_uri.empty() || !config_.refresh_command.empty(); }
  // A fresh URL for the item, or nullopt (after logging why).
  std::optional<http::SignedUrl> FreshUrl(const Item& item);

 private:
  const GetConfig& config_;
  const drs::DrsOptions drs_;
  std::mutex mu_;
  std::optional<manifest::Manifest> latest_;   // the refresh command's last manifest
  std::chrono::steady_clock::time_point latest_at_{};
};

// Probes every item, a few at a time; an item whose URL expired is probed again with a
// fresh one when the renewer has one.
void ProbeAll(std::vector<Item>& items, const http::ProbeOptions& options, UrlRenewer* renewer);

}  // namespace getmfs::cli

#endif  // GETMFS_CLI_GET_ITEMS_H_
