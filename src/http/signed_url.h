// Signed URLs are credentials: only scheme://host/path may ever be printed.
#ifndef GETMFS_HTTP_SIGNED_URL_H_
#define GETMFS_HTTP_SIGNED_URL_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace getmfs::http {

// scheme://host[:port]/path, with any userinfo, query string and fragment removed.
std::string RedactUrl(const std::string& url);

// Replaces every http(s) URL in free text by its redacted form (a safety net at log sinks).
std::string RedactUrls(const std::string& text);

// The last path segment, percent-decoded ("" when the path ends in '/').
std::string UrlBasename(const std::string& url);

std::string PercentDecode(const std::string& s);

// True when the URL is absolute http:// or https:// with a host.
bool IsHttpUrl(const std::string& url);

// When the URL carries a signature whose expiry it states, the Unix time at which it
// expires: S3 SigV4 (X-Amz-Date + X-Amz-Expires), GCS V4 (X-Goog-Date + X-Goog-Expires),
// Expires= in Unix time (S3 SigV2, GCS V2, CloudFront; with a signature), Azure SAS se=
// (ISO 8601, with sig=).
std::optional<std::int64_t> SignatureExpiry(const std::string& url);

// A URL held with its redacted form precomputed; prints redacted. It may carry request
// headers that go with every request for it ("Name: value", e.g. from a DRS access method):
// credentials too, never printed.
class SignedUrl {
 public:
  SignedUrl() = default;
  explicit SignedUrl(std::string url, std::vector<std::string> headers = {})
      : url_(std::move(url)), redacted_(RedactUrl(url_)), headers_(std::move(headers)) {}
  const std::string& full() const { return url_; }          // for libcurl only
  const std::string& redacted() const { return redacted_; }
  const std::vector<std::string>& headers() const { return headers_; }   // for libcurl only
  bool empty() const { return url_.empty(); }
  // The same request: URL and headers.
  bool operator==(const SignedUrl& other) const { return url_ == other.url_ && headers_ == other.headers_; }

 private:
  std::string url_;
  std::string redacted_;
  std::vector<std::string> headers_;
};

inline std::ostream& operator<<(std::ostream& os, const SignedUrl& url) { return os << url.redacted(); }

}  // namespace getmfs::http

#endif  // GETMFS_HTTP_SIGNED_URL_H_
