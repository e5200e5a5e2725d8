// The status JSON and the per-file xattrs of a mount (status.h).
#include "fs/status.h"

#include <unistd.h>

#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

namespace getmfs::fs {
namespace {

// UTC, RFC 3339; "" when the URL does not say when it expires.
std::string ExpiresText(const fetch::RemoteObject& o) {
  auto expiry = o.expiry();
  if (!expiry) return "";
  std::time_t t = static_cast<std::time_t>(*expiry);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Seconds until the URL expires (negative: expired); null when it does not say.
nlohmann::json ExpiresIn(const fetch::RemoteObject& o) {
  auto expiry = o.expiry();
  if (!expiry) return nullptr;
  return static_cast<std::int64_t>(*expiry) - static_cast<std::int64_t>(std::time(nullptr));
}

nlohmann::json FileJson(const std::string& path, const fetch::RemoteObject& o) {
  auto counters = o.counters();
  auto size = o.KnownSize();
  return {{"path", path},
          {"size", size ? nlohmann::json(*size) : nlohmann::json(nullptr)},
          {"checksum", o.ChecksumDescription()},
          {"state", FileState(o)},
          {"ranges", o.ranges()},   // false: read as one stream (the server ignores ranges)
          {"expires", ExpiresText(o)},
          {"expires_in_seconds", ExpiresIn(o)},
          {"bytes_fetched", counters.bytes_fetched},   // traffic, refetches included
          {"bytes_present", o.bytes_present()},         // distinct bytes fetched while unverified
          {"requests", counters.requests},
          {"retries", counters.retries},
          {"errors", counters.errors},
          {"last_error", counters.last_error}};
}

nlohmann::json EngineJson(fetch::Engine& engine) {
  auto c = engine.cache().Stats();
  auto p = engine.pool().Stats();
  std::size_t bs = engine.cache().block_size();
  return {{"cache",
           {{"block_size", bs},
            {"capacity", c.slots * bs},
            {"used", c.slots_used * bs},
            {"pinned_blocks", c.slots_pinned},
            {"hits", c.hits},
            {"misses", c.misses},
            {"evictions", c.evictions},
            {"crc_failures", c.crc_failures}}},
          {"workers",
           {{"alive", p.workers_alive},
            {"restarts", p.worker_restarts},
            {"in_flight", p.in_flight},
            {"in_flight_limit", p.in_flight_limit},
            {"stalls_restarted", p.stalls_restarted},
            {"requests", p.jobs_started},
            {"failed", p.jobs_failed}}}};
}

}  // namespace

std::string VerificationState(const fetch::RemoteObject& object) {
  return object.partial() ? "partial" : fetch::VerdictName(object.verdict());
}

std::string FileState(const fetch::RemoteObject& object) {
  auto failure = object.failure();
  if (failure && failure->kind != ErrorKind::kIntegrity) return "failed";
  return VerificationState(object);
}

nlohmann::json StatusObject(const InodeTable& table, std::uint64_t generation, fetch::Engine* engine,
                            const std::optional<RefreshCounts>& refresh, StatusDetail detail) {
  nlohmann::json files = nlohmann::json::array();
  std::uint64_t count = 0, fetched = 0, retries = 0, errors = 0;
  std::map<std::string, int> states, failures;
  for (const auto& [path, ino] : table.paths()) {
    const Node* node = table.Find(ino);
    if (!node->object) continue;
    const fetch::RemoteObject& object = *node->object;
    if (detail == StatusDetail::kFiles) files.push_back(FileJson(path, object));
    ++count;
    ++states[FileState(object)];
    if (auto failure = object.failure()) ++failures[ErrorKindName(failure->kind)];
    auto counters = object.counters();
    fetched += counters.bytes_fetched;
    retries += counters.retries;
    errors += counters.errors;
  }
  nlohmann::json status = {{"pid", getpid()}, {"generation", generation}};
  if (detail == StatusDetail::kFiles) status["files"] = std::move(files);
  status["totals"] = {{"files", count}, {"bytes_fetched", fetched}, {"retries", retries},
                      {"errors", errors}, {"states", states}, {"failures", failures}};
  if (engine != nullptr) status.update(EngineJson(*engine));
  if (refresh) status["refresh"] = {{"applied", refresh->applied}, {"failed", refresh->failed}};
  return status;
}

std::optional<std::string> FileXattr(const fetch::RemoteObject& object, const std::string& name) {
  if (name == "user.getmfs.checksum") return object.ChecksumDescription();
  if (name == "user.getmfs.verified") return VerificationState(object);
  if (name == "user.getmfs.fetched") return std::to_string(object.bytes_present());
  if (name == "user.getmfs.url") return object.url().redacted();
  if (name == "user.getmfs.expires") return ExpiresText(object);
  return std::nullopt;
}

std::vector<std::string> FileXattrNames() {
  return {"user.getmfs.checksum", "user.getmfs.verified", "user.getmfs.fetched", "user.getmfs.url",
          "user.getmfs.expires"};
}

}  // namespace getmfs::fs
