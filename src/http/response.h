// What the engine reads from HTTP responses: header collection, Content-Range, Retry-After,
// Content-Disposition, and the mapping of failures to error kinds and retry decisions.
#ifndef GETMFS_HTTP_RESPONSE_H_
#define GETMFS_HTTP_RESPONSE_H_

#include <curl/curl.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "http/signed_url.h"
#include "integrity/checksum.h"
#include "util/error.h"

namespace getmfs::http {

using integrity::HeaderMap;

// Collects a response's status and headers from libcurl's header callback. A new status
// line (after a redirect or a 100 Continue) starts over.
class HeaderCollector {
 public:
  void Feed(const char* data, std::size_t size);
  bool complete() const { return complete_; }
  int status() const { return status_; }
  const HeaderMap& headers() const { return headers_; }
  std::string Get(const std::string& lower_name) const;
  void Reset() { *this = HeaderCollector(); }

 private:
  int status_ = 0;
  bool complete_ = false;
  HeaderMap headers_;
};

struct ContentRange {
  std::optional<std::uint64_t> first, last;   // absent for "bytes */total"
  std::optional<std::uint64_t> total;         // absent for "bytes a-b/*"
};
std::optional<ContentRange> ParseContentRange(const std::string& value);

// Seconds to wait from a Retry-After value (delta-seconds or an HTTP date).
std::optional<double> ParseRetryAfter(const std::string& value);

// The filename from Content-Disposition (filename*=UTF-8''... preferred), path parts removed.
std::string ContentDispositionFilename(const std::string& value);

// True for responses from S3 (Server: AmazonS3 or any x-amz- header).
bool FromS3(const HeaderMap& headers);

// Whether a status is worth retrying (408, 429, 5xx).
bool RetryableStatus(int status);
// Whether a libcurl failure is a transient network error worth retrying.
bool RetryableCurlCode(CURLcode code);

// The error for a non-success HTTP status. body is the start of the error body (S3 and GCS
// say "expired" there); url is used for the signature's expiry time.
Error HttpError(int status, const std::string& body, const SignedUrl& url);
// The error for a libcurl failure.
Error CurlError(CURLcode code, const char* errbuf, const SignedUrl& url);

// Exponential backoff with jitter, honouring Retry-After, bounded by a deadline.
struct RetryPolicy {
  int max_attempts = 10;
  double initial_backoff_seconds = 0.2;
  double max_backoff_seconds = 20;
  // Seconds to wait before attempt number `attempt` (1 = first retry).
  double Backoff(int attempt, std::optional<double> retry_after, std::mt19937_64& rng) const;
};

}  // namespace getmfs::http

#endif  // GETMFS_HTTP_RESPONSE_H_
