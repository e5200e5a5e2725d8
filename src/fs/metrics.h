// Prometheus metrics of a mount, rendered from its status JSON (fs/status.h: one source for
// `getmfs status`, the status file and /metrics), and the --metrics-addr value.
#ifndef GETMFS_FS_METRICS_H_
#define GETMFS_FS_METRICS_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "util/error.h"

namespace getmfs::fs {

// Prometheus text exposition format 0.0.4: names getmfs_*, counters ending in _total, each
// with # HELP and # TYPE.
std::string PrometheusText(const nlohmann::json& status);

// Where /metrics is served: an IPv4 address (or localhost) and a port.
struct MetricsAddress {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
};

// "PORT", ":PORT" (loopback), "HOST:PORT" with an IPv4 HOST, "localhost" or "0.0.0.0" (every
// interface, when asked). kBadInput naming what is wrong.
Result<MetricsAddress> ParseMetricsAddress(const std::string& text);

}  // namespace getmfs::fs

#endif  // GETMFS_FS_METRICS_H_
