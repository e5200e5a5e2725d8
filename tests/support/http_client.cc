#include "support/http_client.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <stdexcept>

namespace getmfs::testing {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Trim(std::string_view s) {
  std::size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  std::size_t end = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(begin, end - begin + 1));
}

size_t OnBody(char* data, size_t size, size_t nmemb, void* user) {
  static_cast<HttpResponse*>(user)->body.append(data, size * nmemb);
  return size * nmemb;
}

size_t OnHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * nmemb);
  if (line.rfind("HTTP/", 0) == 0) {
    response->headers.clear();  // a new (e.g. final after 100 Continue) response
  } else if (std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    response->headers.emplace_back(Lower(Trim(line.substr(0, colon))),
                                   Trim(line.substr(colon + 1)));
  }
  return size * nmemb;
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  std::string key = Lower(name);
  for (const auto& [header, value] : headers) {
    if (header == key) return value;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::Headers(std::string_view name) const {
  std::string key = Lower(name);
  std::vector<std::string> out;
  for (const auto& [header, value] : headers) {
    if (header == key) out.push_back(value);
  }
  return out;
}

HttpClient::HttpClient() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  curl_.reset(curl_easy_init());
  if (!curl_) throw std::runtime_error("curl_easy_init failed");
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::Fetch(const HttpRequest& request) {
  CURL* curl = curl_.get();
  curl_easy_reset(curl);  // keeps the connection cache
  HttpResponse response;
  char error[CURL_ERROR_SIZE] = {0};
  curl_slist* list = nullptr;
  for (const std::string& header : request.headers) {
    curl_slist* appended = curl_slist_append(list, header.c_str());
    if (appended == nullptr) {
      curl_slist_free_all(list);
      throw std::runtime_error("curl_slist_append failed");
    }
    list = appended;
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers(list);
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_seconds * 1000));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  response.curl_code = curl_easy_perform(curl);
  if (response.curl_code != CURLE_OK) {
    response.curl_error = error[0] ? error : curl_easy_strerror(response.curl_code);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  return response;
}

HttpResponse HttpClient::Get(const std::string& url, const std::vector<std::string>& headers) {
  HttpRequest request;
  request.url = url;
  request.headers = headers;
  return Fetch(request);
}

HttpResponse HttpFetch(const HttpRequest& request) { return HttpClient().Fetch(request); }

HttpResponse HttpGet(const std::string& url, const std::vector<std::string>& headers) {
  return HttpClient().Get(url, headers);
}

}  // namespace getmfs::testing
