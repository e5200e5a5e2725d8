// The Prometheus text of a mount's status, checked line by line against the exposition
// format, and the --metrics-addr values.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "fs/metrics.h"

namespace getmfs::fs {
namespace {

using nlohmann::json;

json SampleStatus() {
  return json::parse(R"({
    "pid": 7, "generation": 3, "files": [],
    "totals": {"files": 3, "bytes_fetched": 3145728, "retries": 2, "errors": 1,
               "states": {"verified": 2, "partial": 1}, "failures": {"expired": 1}},
    "cache": {"block_size": 65536, "capacity": 134217728, "used": 1048576, "pinned_blocks": 0,
              "hits": 40, "misses": 12, "evictions": 5, "crc_failures": 0},
    "workers": {"alive": 2, "restarts": 1, "in_flight": 4, "in_flight_limit": 16, "stalls_restarted": 3,
                "requests": 9, "failed": 1},
    "refresh": {"applied": 2, "failed": 1}})");
}

// name{labels} -> value, checking every line's shape on the way.
std::map<std::string, double> Samples(const std::string& text) {
  static const std::regex kHelp(R"(# HELP (getmfs_[a-z_]+) .+)");
  static const std::regex kType(R"(# TYPE (getmfs_[a-z_]+) (counter|gauge))");
  static const std::regex kSample(R"((getmfs_[a-z_]+)(\{[a-z_]+="[^"]*"\})? (-?[0-9.e+]+))");
  std::map<std::string, double> samples;
  std::string typed, type;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, kHelp)) continue;
    if (std::regex_match(line, m, kType)) {
      typed = m[1];
      type = m[2];
      EXPECT_EQ(type == "counter", typed.ends_with("_total")) << "counters, and only they, end in _total: " << line;
      continue;
    }
    EXPECT_TRUE(std::regex_match(line, m, kSample)) << "not a sample line: " << line;
    EXPECT_EQ(m[1], typed) << "a sample before its # TYPE: " << line;
    samples[m[1].str() + m[2].str()] = std::stod(m[3]);
  }
  return samples;
}

TEST(PrometheusText, EveryFigureOfTheStatusIsExposed) {
  std::string text = PrometheusText(SampleStatus());
  ASSERT_TRUE(text.ends_with("\n"));
  auto s = Samples(text);
  EXPECT_EQ(s["getmfs_fetched_bytes_total"], 3145728);
  EXPECT_EQ(s["getmfs_requests_total"], 9);
  EXPECT_EQ(s["getmfs_requests_failed_total"], 1);
  EXPECT_EQ(s["getmfs_retries_total"], 2);
  EXPECT_EQ(s["getmfs_errors_total"], 1);
  EXPECT_EQ(s["getmfs_objects_failed{kind=\"expired\"}"], 1);
  EXPECT_EQ(s["getmfs_objects{state=\"verified\"}"], 2);
  EXPECT_EQ(s["getmfs_objects{state=\"partial\"}"], 1);
  EXPECT_EQ(s["getmfs_cache_hits_total"], 40);
  EXPECT_EQ(s["getmfs_cache_misses_total"], 12);
  EXPECT_EQ(s["getmfs_cache_evictions_total"], 5);
  EXPECT_EQ(s["getmfs_cache_used_bytes"], 1048576);
  EXPECT_EQ(s["getmfs_cache_capacity_bytes"], 134217728);
  EXPECT_EQ(s["getmfs_requests_in_flight"], 4);
  EXPECT_EQ(s["getmfs_stalls_restarted_total"], 3);
  EXPECT_EQ(s["getmfs_worker_restarts_total"], 1);
  EXPECT_EQ(s["getmfs_url_refreshes_total"], 2);
  EXPECT_EQ(s["getmfs_url_refresh_failures_total"], 1);
  EXPECT_EQ(s["getmfs_manifest_generation"], 3);
}

TEST(PrometheusText, MissingFiguresAreZeroAndLabelsAreEscaped) {
  json status = {{"totals", {{"states", {{"we\"ird\\", 1}}}}}};
  std::string text = PrometheusText(status);
  EXPECT_NE(text.find("getmfs_objects{state=\"we\\\"ird\\\\\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("getmfs_cache_hits_total 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("getmfs_url_refreshes_total 0\n"), std::string::npos) << text;
  EXPECT_EQ(PrometheusText(json::object()).find("nan"), std::string::npos);
}

TEST(MetricsAddress, PortAloneIsLoopback) {
  for (const std::string text : {"9100", ":9100"}) {
    auto a = ParseMetricsAddress(text);
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->text(), "127.0.0.1:9100");
  }
  auto local = ParseMetricsAddress("localhost:1");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->text(), "127.0.0.1:1");
  auto every = ParseMetricsAddress("0.0.0.0:65535");
  ASSERT_TRUE(every);
  EXPECT_EQ(every->text(), "0.0.0.0:65535");
}

TEST(MetricsAddress, BadValuesSayWhatToGive) {
  for (const std::string text : {"", "x", "0", "65536", "99999999999", "1.2.3:80", "[::1]:80", "h.example:80",
                                  "127.0.0.1:", "-1", "80 "}) {
    auto a = ParseMetricsAddress(text);
    ASSERT_FALSE(a) << text;
    EXPECT_EQ(a.error().kind, ErrorKind::kBadInput);
    EXPECT_TRUE(a.error().message.find("port from 1 to 65535") != std::string::npos ||
                a.error().message.find("IPv4 address") != std::string::npos)
        << a.error().message;
  }
}

}  // namespace
}  // namespace getmfs::fs
