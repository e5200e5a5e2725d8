// getm's failure lines (getm_messages.h).
#include "cli/getm_messages.h"

#include <nlohmann/json.hpp>

#include <utility>
#include <vector>

namespace getmfs::cli {
namespace {

// Python's json.dumps of a dict, keys in the order given: ", " and ": " separators, non-ASCII
// escaped (ensure_ascii).
std::string PythonJson(const std::vector<std::pair<std::string, nlohmann::json>>& members) {
  std::string text = "{";
  for (const auto& [key, value] : members) {
    if (text.size() > 1) text += ", ";
    text += nlohmann::json(key).dump(-1, ' ', true) + ": " + value.dump(-1, ' ', true);
  }
  return text + "}";
}

}  // namespace

std::string GetmFailureLines(const Error& error, const std::string& redacted_url) {
  if (error.kind == ErrorKind::kIntegrity) {
    // getm's log_exception: the message, then the AssertionError's traceback.
    return "ERROR:getm.cli:" + PythonJson({{"message", "Download failed!"}, {"url", redacted_url}}) +
           "\nTraceback (most recent call last):\n  (getmfs: " + error.message + ")\nAssertionError: Checksum failed!\n";
  }
  if (error.http_status != 0) {
    return "ERROR:getm.cli:" + PythonJson({{"message", "url innaccessable"},
                                           {"text", error.message},
                                           {"url", redacted_url},
                                           {"status_code", error.http_status}}) + "\n";
  }
  return "ERROR:getm.cli:" + PythonJson({{"message", "Download failed!"}, {"text", error.message}, {"url", redacted_url}}) +
         "\n";
}

}  // namespace getmfs::cli
