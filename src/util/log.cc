// The log: levels, sinks (stderr, syslog, a file) and redaction of every line.
#include "util/log.h"

#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "http/signed_url.h"

namespace getmfs {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kWarning)};
std::mutex g_mu;
LogSink g_sink = LogSink::kStderr;
FILE* g_file = nullptr;
std::string g_tag = "getmfs";

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return "error";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kInfo: return "info";
    case LogLevel::kDebug: return "debug";
    case LogLevel::kTrace: return "trace";
  }
  return "?";
}

int SyslogPriority(LogLevel level) {
  switch (level) {
    case LogLevel::kError: return LOG_ERR;
    case LogLevel::kWarning: return LOG_WARNING;
    case LogLevel::kInfo: return LOG_INFO;
    default: return LOG_DEBUG;
  }
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }

void SetLogTag(const std::string& tag) {
  std::scoped_lock lock(g_mu);
  g_tag = tag;
}

bool SetLogSink(LogSink sink, const std::string& path) {
  std::scoped_lock lock(g_mu);
  FILE* file = nullptr;
  if (sink == LogSink::kFile) {
    file = std::fopen(path.c_str(), "ae");
    if (file == nullptr) return false;
    setvbuf(file, nullptr, _IOLBF, 0);
  }
  if (g_file != nullptr) std::fclose(g_file);
  g_file = file;
  if (sink == LogSink::kSyslog) openlog("getmfs", LOG_PID, LOG_DAEMON);
  g_sink = sink;
  return true;
}

void WriteLogLine(LogLevel level, const std::string& raw) {
  const std::string line = http::RedactUrls(raw);
  std::scoped_lock lock(g_mu);
  if (g_sink == LogSink::kSyslog) {
    syslog(SyslogPriority(level), "%s", line.c_str());
    return;
  }
  FILE* out = g_sink == LogSink::kFile && g_file != nullptr ? g_file : stderr;
  if (g_sink == LogSink::kFile) {
    char stamp[32];
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    std::fprintf(out, "%s %s[%d] %s: %s\n", stamp, g_tag.c_str(), getpid(), LevelName(level),
                 line.c_str());
  } else {
    std::fprintf(out, "%s: %s: %s\n", g_tag.c_str(), LevelName(level), line.c_str());
  }
  std::fflush(out);
}

}  // namespace getmfs
