// A small blocking HTTP client for tests (libcurl easy interface).
#ifndef GETMFS_TESTS_SUPPORT_HTTP_CLIENT_H_
#define GETMFS_TESTS_SUPPORT_HTTP_CLIENT_H_

#include <curl/curl.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace getmfs::testing {

struct HttpRequest {
  std::string url;
  std::string method = "GET";        // GET, HEAD or POST
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent with POST
  double timeout_seconds = 30;
};

struct HttpResponse {
  CURLcode curl_code = CURLE_OK;  // transport result: CURLE_OK, CURLE_RECV_ERROR, ...
  std::string curl_error;         // libcurl's message when curl_code != CURLE_OK
  long status = 0;                // 0 when no status line arrived
  // Headers of the final response, in order; names lower-cased.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // the body bytes received (possibly partial on error)

  // The first header with this (case-insensitive) name.
  std::optional<std::string> Header(std::string_view name) const;
  // All headers with this name.
  std::vector<std::string> Headers(std::string_view name) const;
};

// One libcurl easy handle: consecutive requests reuse the connection
// (keep-alive). Not thread-safe; use one client per thread.
class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse Fetch(const HttpRequest& request);
  HttpResponse Get(const std::string& url, const std::vector<std::string>& headers = {});

 private:
  struct Deleter {
    void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
  };
  std::unique_ptr<CURL, Deleter> curl_;
};

// One request on a fresh connection.
HttpResponse HttpFetch(const HttpRequest& request);
HttpResponse HttpGet(const std::string& url, const std::vector<std::string>& headers = {});

}  // namespace getmfs::testing

#endif  // GETMFS_TESTS_SUPPORT_HTTP_CLIENT_H_
