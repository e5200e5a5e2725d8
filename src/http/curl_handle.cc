// libcurl handles with the options every request of ours shares.
#include "http/curl_handle.h"

#include <mutex>

namespace getmfs::http {

void EnsureCurlInitialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

void ApplyCommonOptions(CURL* easy, const TransferOptions& options) {
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, options.connect_timeout_ms);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, options.low_speed_time_s);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, options.low_speed_limit);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "getmfs/" GETMFS_VERSION);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 256L * 1024);
  if (!options.ca_bundle.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_bundle.c_str());
}

CurlSlist HeaderList(const std::vector<std::string>& url_headers, const std::vector<std::string>& extra) {
  curl_slist* list = nullptr;
  for (const auto* headers : {&url_headers, &extra}) {
    for (const std::string& header : *headers) list = curl_slist_append(list, header.c_str());
  }
  return CurlSlist(list);
}

}  // namespace getmfs::http
