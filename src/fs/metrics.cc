// Prometheus text from the status JSON (metrics.h).
#include "fs/metrics.h"

#include <arpa/inet.h>

#include <map>
#include <sstream>


namespace getmfs::fs {
namespace {

using nlohmann::json;

// A number from the JSON at a path of keys; 0 when any part is missing.
double At(const json& j, std::initializer_list<const char*> keys) {
  const json* node = &j;
  for (const char* key : keys) {
    if (!node->is_object() || !node->contains(key)) return 0;
    node = &(*node)[key];
  }
  return node->is_number() ? node->get<double>() : 0;
}

class Exposition {
 public:
  // One metric without labels.
  void Add(const std::string& name, const char* type, const std::string& help, double value) {
    Header(name, type, help);
    out_ << name << ' ' << Format(value) << '\n';
  }
  // One metric with a label, a sample per value.
  void AddLabelled(const std::string& name, const char* type, const std::string& help, const char* label,
                   const std::map<std::string, double>& samples) {
    Header(name, type, help);
    for (const auto& [key, value] : samples) out_ << name << '{' << label << "=\"" << Escape(key) << "\"} " << Format(value) << '\n';
  }
  std::string text() const { return out_.str(); }

 private:
  void Header(const std::string& name, const char* type, const std::string& help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  static std::string Format(double value) {
    std::ostringstream s;
    s.precision(17);
    s << value;
    return s.str();
  }
  static std::string Escape(const std::string& value) {
    std::string escaped;
    for (char c : value) {
      if (c == '\\' || c == '"') escaped += '\\';
      if (c == '\n') { escaped += "\\n"; continue; }
      escaped += c;
    }
    return escaped;
  }
  std::ostringstream out_;
};

std::map<std::string, double> Counts(const json& object) {
  std::map<std::string, double> samples;
  if (!object.is_object()) return samples;
  for (const auto& [key, value] : object.items()) {
    if (value.is_number()) samples[key] = value.get<double>();
  }
  return samples;
}

}  // namespace

std::string PrometheusText(const json& status) {
  Exposition e;
  e.Add("getmfs_fetched_bytes_total", "counter", "Bytes received from origins, refetches included.",
        At(status, {"totals", "bytes_fetched"}));
  e.Add("getmfs_requests_total", "counter", "Range and stream requests started by the workers.",
        At(status, {"workers", "requests"}));
  e.Add("getmfs_requests_failed_total", "counter", "Requests that ended in an error.", At(status, {"workers", "failed"}));
  e.Add("getmfs_retries_total", "counter", "Requests retried after a transient error.", At(status, {"totals", "retries"}));
  e.Add("getmfs_errors_total", "counter", "Errors seen by reads of the mount's files.", At(status, {"totals", "errors"}));
  std::map<std::string, double> failures = Counts(status.value("totals", json::object()).value("failures", json::object()));
  e.AddLabelled("getmfs_objects_failed", "gauge", "Files whose object has failed, by kind of error.", "kind", failures);
  e.AddLabelled("getmfs_objects", "gauge", "Files by verification state.", "state",
                Counts(status.value("totals", json::object()).value("states", json::object())));
  e.Add("getmfs_cache_hits_total", "counter", "Block lookups served from the cache.", At(status, {"cache", "hits"}));
  e.Add("getmfs_cache_misses_total", "counter", "Block lookups that needed a fetch.", At(status, {"cache", "misses"}));
  e.Add("getmfs_cache_evictions_total", "counter", "Blocks evicted to make room.", At(status, {"cache", "evictions"}));
  e.Add("getmfs_cache_used_bytes", "gauge", "Bytes of the cache holding blocks.", At(status, {"cache", "used"}));
  e.Add("getmfs_cache_capacity_bytes", "gauge", "Size of the shared-memory block cache.", At(status, {"cache", "capacity"}));
  e.Add("getmfs_requests_in_flight", "gauge", "Requests in flight now.", At(status, {"workers", "in_flight"}));
  e.Add("getmfs_stalls_restarted_total", "counter", "Stalled requests moved to another connection.",
        At(status, {"workers", "stalls_restarted"}));
  e.Add("getmfs_worker_restarts_total", "counter", "Worker processes restarted.", At(status, {"workers", "restarts"}));
  e.Add("getmfs_workers_alive", "gauge", "Worker processes running.", At(status, {"workers", "alive"}));
  e.Add("getmfs_url_refreshes_total", "counter", "Fresh manifests applied before or after an expiry.",
        At(status, {"refresh", "applied"}));
  e.Add("getmfs_url_refresh_failures_total", "counter", "Refresh runs that failed.", At(status, {"refresh", "failed"}));
  e.Add("getmfs_manifest_generation", "gauge", "Manifest generation (1, then one more per reload).",
        At(status, {"generation"}));
  return e.text();
}

Result<MetricsAddress> ParseMetricsAddress(const std::string& text) {
  MetricsAddress address;
  std::string port = text;
  if (std::size_t colon = text.rfind(':'); colon != std::string::npos) {
    port = text.substr(colon + 1);
    std::string host = text.substr(0, colon);
    if (host == "localhost") host = "127.0.0.1";
    in_addr parsed{};
    if (!host.empty() && inet_pton(AF_INET, host.c_str(), &parsed) != 1) {
      return Error{ErrorKind::kBadInput, "\"" + text + "\": the host must be an IPv4 address or localhost (HOST:PORT)"};
    }
    if (!host.empty()) address.host = host;
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) < 1 || std::stoi(port) > 65535) {
    return Error{ErrorKind::kBadInput, "\"" + text + "\": give a port from 1 to 65535 (PORT or HOST:PORT)"};
  }
  address.port = static_cast<std::uint16_t>(std::stoi(port));
  return address;
}

}  // namespace getmfs::fs
