// The checks a response passes before its bytes are used (response_check.h).
#include "worker/response_check.h"

namespace getmfs::worker {
namespace {

ResponseCheck Refuse(ErrorKind kind, std::string message, bool retryable) {
  ResponseCheck check;
  check.error = Error{kind, std::move(message)};
  check.retryable = retryable;
  return check;
}

std::string Bytes(std::uint64_t first, std::uint64_t last) { return std::to_string(first) + "-" + std::to_string(last); }

}  // namespace

ResponseCheck CheckRangeResponse(int status, const http::HeaderCollector& headers, const RangeRequest& request,
                                 const http::SignedUrl& url) {
  const std::uint64_t want_len = request.last - request.first + 1;
  const std::string where = url.redacted();
  if (status == 206) {
    auto cr = http::ParseContentRange(headers.Get("content-range"));
    if (!cr || !cr->first || *cr->first != request.first || *cr->last != request.last ||
        (cr->total && *cr->total != request.object_size)) {
      return Refuse(ErrorKind::kNetwork,
                    where + ": asked for bytes " + Bytes(request.first, request.last) + "/" +
                        std::to_string(request.object_size) + ", got Content-Range \"" +
                        headers.Get("content-range") + "\"",
                    true);
    }
  } else if (status == 200) {
    bool whole = request.first == 0 && want_len == request.object_size;
    if (!whole) {
      ResponseCheck check = Refuse(ErrorKind::kNetwork,
                                   where + ": the server ignored the Range header (HTTP 200) for bytes " +
                                       Bytes(request.first, request.last),
                                   false);
      check.ranges_ignored = true;
      return check;
    }
  } else {
    return {};
  }
  std::string length = headers.Get("content-length");
  if (!length.empty() && length != std::to_string(want_len)) {
    return Refuse(ErrorKind::kNetwork,
                  where + ": Content-Length " + length + " for a range of " + std::to_string(want_len) + " bytes", true);
  }
  std::string etag = headers.Get("etag");
  if (!request.if_match.empty() && !etag.empty() && etag != request.if_match) {
    return Refuse(ErrorKind::kChanged,
                  where + " changed while it was being read (ETag " + etag + ", was " + request.if_match + ")", false);
  }
  return {};
}

}  // namespace getmfs::worker
