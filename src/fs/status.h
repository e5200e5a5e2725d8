// What a mount shows of itself: the JSON of `getmfs status` (the hidden .getmfs-status file)
// and the user.getmfs.* extended attributes of its files.
#ifndef GETMFS_FS_STATUS_H_
#define GETMFS_FS_STATUS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fetch/engine.h"
#include "fetch/remote_object.h"
#include "fs/inode_table.h"
#include "fs/url_refresher.h"

namespace getmfs::fs {

// kFiles: every file's entry and the totals (`getmfs status`); kTotals: the totals only, made
// from each object's counters without a JSON entry per file (a /metrics scrape).
enum class StatusDetail { kFiles, kTotals };

// Per file: size, checksum, state, bytes fetched, requests, retries, errors; totals; and, once
// started, the cache's and the workers' figures.
// refresh: the refresher's runs, when it runs ("refresh": {"applied", "failed"}).
nlohmann::json StatusObject(const InodeTable& table, std::uint64_t generation, fetch::Engine* engine,
                            const std::optional<RefreshCounts>& refresh, StatusDetail detail);

// A file's attribute (user.getmfs.checksum, .verified, .fetched, .url), nullopt when it has
// none.
std::optional<std::string> FileXattr(const fetch::RemoteObject& object, const std::string& name);
std::vector<std::string> FileXattrNames();

// pending, partial (read in part at random: the verdict waits for the rest), verified,
// failed (checksum mismatch) or unverified (no checksum known).
std::string VerificationState(const fetch::RemoteObject& object);
// The state shown for a file: VerificationState, or "failed" when reads of it fail for
// another reason (changed, vanished, removed).
std::string FileState(const fetch::RemoteObject& object);

}  // namespace getmfs::fs

#endif  // GETMFS_FS_STATUS_H_
