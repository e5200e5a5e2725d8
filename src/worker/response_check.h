// What a fetch loop accepts of a response before it uses any of its bytes (DESIGN.md
// invariant 1): every byte used is one the response itself says it is. A 206 whose
// Content-Range covers the range asked for (exactly, or wider: some S3-compatible servers
// label the whole object), or a 200, which carries the whole object; from either only the
// asked bytes are taken, found by their offset in the labelled body. Also the promised
// length and the ETag the probe saw. A pure function of the status and headers, so that
// every rule has a unit test.
#ifndef GETMFS_WORKER_RESPONSE_CHECK_H_
#define GETMFS_WORKER_RESPONSE_CHECK_H_

#include <cstdint>
#include <optional>
#include <string>

#include "http/response.h"
#include "http/signed_url.h"
#include "util/error.h"

namespace getmfs::worker {

// The request: bytes [first, last] of an object of object_size bytes, If-Match if_match.
struct RangeRequest {
  std::uint64_t first = 0, last = 0;
  std::uint64_t object_size = 0;
  std::string if_match;
};

struct ResponseCheck {
  std::optional<Error> error;    // the response's bytes must not be used
  bool retryable = false;        // another attempt may do better
  std::uint64_t skip = 0;        // body bytes before the first byte asked for
  bool wider = false;            // the body goes on past the last byte asked for
  bool ranges_ignored = false;   // the body starts before the byte asked for (a 200, or a
                                 // label from an earlier offset): ranges cost the skipped bytes
};

// Judges a 200 or 206 response's headers (other statuses are judged at their end, with
// their body). `where` names the URL in messages (redacted).
ResponseCheck CheckRangeResponse(int status, const http::HeaderCollector& headers, const RangeRequest& request,
                                 const http::SignedUrl& url);

}  // namespace getmfs::worker

#endif  // GETMFS_WORKER_RESPONSE_CHECK_H_
