// libcurl handles owned by RAII types, and the options every transfer of ours shares.
#ifndef GETMFS_HTTP_CURL_HANDLE_H_
#define GETMFS_HTTP_CURL_HANDLE_H_

#include <curl/curl.h>

#include <memory>
#include <string>
#include <vector>

#include "util/unique_fd.h"

namespace getmfs::http {

using CurlEasy = std::unique_ptr<CURL, Deleter<curl_easy_cleanup>>;
using CurlMulti = std::unique_ptr<CURLM, Deleter<curl_multi_cleanup>>;
using CurlSlist = std::unique_ptr<curl_slist, Deleter<curl_slist_free_all>>;

struct TransferOptions {
  long connect_timeout_ms = 15000;
  long low_speed_time_s = 30;       // abort when under low_speed_limit bytes/s for this long
  long low_speed_limit = 1024;
  std::string ca_bundle;            // --ca-bundle: the CA certificates to trust ("": the system's)
};

// curl_global_init once per process (thread-safe).
void EnsureCurlInitialized();

// NOSIGNAL, timeouts, redirects (at most 5, http and https only), user agent, TCP
// keep-alive; TLS peer and host verification stay on (libcurl's defaults, never turned off).
void ApplyCommonOptions(CURL* easy, const TransferOptions& options);

// A request's header list: the URL's own headers (SignedUrl::headers) and then extra ones;
// null when there are none.
CurlSlist HeaderList(const std::vector<std::string>& url_headers, const std::vector<std::string>& extra = {});

}  // namespace getmfs::http

#endif  // GETMFS_HTTP_CURL_HANDLE_H_
