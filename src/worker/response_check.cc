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

namespace {

// A 206: its label must cover the asked range and name the object's size.
ResponseCheck CheckPartial(const http::HeaderCollector& headers, const RangeRequest& request, const std::string& where) {
  auto cr = http::ParseContentRange(headers.Get("content-range"));
  if (!cr || !cr->first || *cr->first > request.first || *cr->last < request.last || *cr->last < *cr->first ||
      (cr->total && *cr->total != request.object_size)) {
    return Refuse(ErrorKind::kNetwork,
                  where + ": asked for bytes " + Bytes(request.first, request.last) + "/" +
                      std::to_string(request.object_size) + ", got Content-Range \"" + headers.Get("content-range") +
                      "\"",
                  true);
  }
  ResponseCheck check;
  check.skip = request.first - *cr->first;
  check.wider = *cr->last > request.last;
  check.ranges_ignored = check.skip > 0;
  std::string length = headers.Get("content-length");
  if (!length.empty() && length != std::to_string(*cr->last - *cr->first + 1)) {
    return Refuse(ErrorKind::kNetwork,
                  where + ": Content-Length " + length + " for Content-Range " + headers.Get("content-range"), true);
  }
  return check;
}

// A 200: the whole object, of its size.
ResponseCheck CheckWhole(const http::HeaderCollector& headers, const RangeRequest& request, const std::string& where) {
  std::string length = headers.Get("content-length");
  if (!length.empty() && length != std::to_string(request.object_size)) {
    return Refuse(ErrorKind::kNetwork,
                  where + ": HTTP 200 with Content-Length " + length + " for an object of " +
                      std::to_string(request.object_size) + " bytes",
                  true);
  }
  ResponseCheck check;
  check.skip = request.first;
  check.wider = request.last + 1 < request.object_size;
  check.ranges_ignored = check.skip > 0 || check.wider;
  return check;
}

}  // namespace

ResponseCheck CheckRangeResponse(int status, const http::HeaderCollector& headers, const RangeRequest& request,
                                 const http::SignedUrl& url) {
  const std::string where = url.redacted();
  ResponseCheck check;
  if (status == 206) {
    check = CheckPartial(headers, request, where);
  } else if (status == 200) {
    check = CheckWhole(headers, request, where);
  } else {
    return check;   // an error body: judged at the end
  }
  if (check.error) return check;
  std::string etag = headers.Get("etag");
  if (!request.if_match.empty() && !etag.empty() && etag != request.if_match) {
    return Refuse(ErrorKind::kChanged,
                  where + " changed while it was being read (ETag " + etag + ", was " + request.if_match + ")", false);
  }
  return check;
}

}  // namespace getmfs::worker
