// What a fetch loop accepts of a response before it uses any of its bytes (DESIGN.md
// invariant 1): a 206 whose Content-Range is the range asked for, or a 200 carrying the whole
// object when the whole object was asked for; the promised length; and the ETag the probe
// saw. A pure function of the status and headers, so that every rule has a unit test.
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
  bool ranges_ignored = false;   // a 200 for part of the object
};

// Judges a 200 or 206 response's headers (other statuses are judged at their end, with
// their body). `where` names the URL in messages (redacted).
ResponseCheck CheckRangeResponse(int status, const http::HeaderCollector& headers, const RangeRequest& request,
                                 const http::SignedUrl& url);

}  // namespace getmfs::worker

#endif  // GETMFS_WORKER_RESPONSE_CHECK_H_
