// The probe: GET with `Range: bytes=0-0` (presigned GET URLs refuse HEAD) to learn an object's
// size, version (ETag) and checksums. A server that ignores the range is cut off after the
// headers, so a probe never downloads the object.
#ifndef GETMFS_HTTP_PROBE_H_
#define GETMFS_HTTP_PROBE_H_

#include <cstdint>
#include <string>

#include "http/curl_handle.h"
#include "http/response.h"
#include "integrity/checksum.h"

namespace getmfs::http {

struct ObjectMeta {
  std::uint64_t size = 0;
  std::string etag;              // as sent, with quotes; empty when none (then no If-Match)
  bool ranges = true;            // false: the server answered the range with the whole object
  bool from_s3 = false;
  std::string filename;          // Content-Disposition filename, else ""
  integrity::Expected checksum;  // the best the headers offer (kNone when none)
};

struct ProbeOptions {
  TransferOptions transfer;
  RetryPolicy retry;
  double deadline_seconds = 120;
};

Result<ObjectMeta> Probe(const SignedUrl& url, const ProbeOptions& options);

// Interprets a probe response (exposed for tests).
// asked_range: the request carried `Range: bytes=0-0` (a 200 then means ranges are ignored).
Result<ObjectMeta> MetaFromProbeResponse(int status, const HeaderMap& headers, const SignedUrl& url,
                                         bool asked_range = true);

}  // namespace getmfs::http

#endif  // GETMFS_HTTP_PROBE_H_
