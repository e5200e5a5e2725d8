// The test origin (tests/origin/origin.py) as a C++ object.
#ifndef GETMFS_TESTS_SUPPORT_ORIGIN_H_
#define GETMFS_TESTS_SUPPORT_ORIGIN_H_

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/http_client.h"
#include "support/process.h"

namespace getmfs::testing {

// A running origin on 127.0.0.1 and a random port, serving root_dir. The
// control API (tests/origin/README.md) is reached over one kept-alive
// connection, so control calls add at most one to "connections_accepted";
// per-path "connections" counts only connections that carried that path.
// Methods are thread-safe. The destructor stops the server; it also exits on
// its own when this process dies (it watches its stdin).
class Origin {
 public:
  // Spawns python3 origin.py and waits for its "PORT n" line. extra_args are
  // appended to its command line (e.g. {"-v"}). Throws std::runtime_error
  // carrying the server's stderr when it fails to start.
  static std::unique_ptr<Origin> Start(const std::string& root_dir,
                                       const std::vector<std::string>& extra_args = {});
  ~Origin();
  Origin(const Origin&) = delete;
  Origin& operator=(const Origin&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:PORT".
  std::string BaseUrl() const;
  // BaseUrl() + path; a missing leading '/' is added.
  std::string Url(const std::string& path) const;

  // POST /__control__/config: replaces the configuration of config["path"] (a
  // JSON array configures several paths). Returns the server's reply; throws
  // std::runtime_error with the server's message when it rejects the config.
  nlohmann::json Configure(const nlohmann::json& config);
  // POST /__control__/reset: drops every configuration and all statistics.
  void Reset();
  // GET /__control__/stats: {"connections_accepted", "requests", "paths": {...}}.
  nlohmann::json Stats();
  // The statistics of one path (all counters zero if it saw no request).
  nlohmann::json PathStats(const std::string& path);
  // A presigned URL for path (emulate: "s3" or "gcs"); date is the signing
  // time as YYYYMMDDTHHMMSSZ, empty for now.
  std::string Presign(const std::string& path, int expires_seconds,
                      const std::string& emulate = "s3", const std::string& date = "");

  // POST /__control__/drs: configures GA4GH DRS objects (one object, or an array;
  // tests/origin/README.md, "DRS"). Returns {"ok": true, "ids": [...]}; throws
  // std::runtime_error with the server's message when it rejects the config.
  nlohmann::json ConfigureDrs(const nlohmann::json& config);
  // GET /__control__/drs_stats: {"objects": {id: {"lookups", "access", "unauthorized"}}}.
  nlohmann::json DrsStats();
  // "drs://127.0.0.1:PORT/" + id (the id as given, not percent-encoded).
  std::string DrsUri(const std::string& id) const;

  // What the server wrote to stderr so far (with -v: one line per request).
  std::string ServerLog() const;

 private:
  Origin() = default;
  nlohmann::json Control(const std::string& method, const std::string& endpoint,
                         const std::string& body = "");

  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
  std::mutex mu_;  // guards control_
  HttpClient control_;
};

}  // namespace getmfs::testing

#endif  // GETMFS_TESTS_SUPPORT_ORIGIN_H_
