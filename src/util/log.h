// One line per event, with a level. LOG(Warning) << ...; formats only when the level is on.
// Every line passes through RedactUrls() at the sink, so a signed URL's query string never
// reaches stderr, syslog or a log file even if a caller forgot to redact it.
#ifndef GETMFS_UTIL_LOG_H_
#define GETMFS_UTIL_LOG_H_

#include <sstream>
#include <string>

namespace getmfs {

enum class LogLevel { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3, kTrace = 4 };

enum class LogSink { kStderr, kSyslog, kFile };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// For kFile, path names the file (opened for append). Returns false with errno set on failure.
bool SetLogSink(LogSink sink, const std::string& path = "");
void SetLogTag(const std::string& tag);   // prefix such as "getmfs" or "getmfs worker 3"

inline bool LogEnabled(LogLevel level) { return static_cast<int>(level) <= static_cast<int>(GetLogLevel()); }

void WriteLogLine(LogLevel level, const std::string& line);

class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage() { WriteLogLine(level_, stream_.str()); }
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

// Turns the streamed expression into void, so LOG can sit in a conditional (glog's trick:
// `&` binds more loosely than `<<`).
struct LogVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace getmfs

#define LOG(level)                                             \
  !::getmfs::LogEnabled(::getmfs::LogLevel::k##level)          \
      ? (void)0                                                \
      : ::getmfs::LogVoidify() & ::getmfs::LogMessage(::getmfs::LogLevel::k##level).stream()

#endif  // GETMFS_UTIL_LOG_H_
