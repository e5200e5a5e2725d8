// worker::CheckRangeResponse: which responses' bytes may be used, and which of their bytes
// (DESIGN.md invariant 1: a byte is used only where the response says it is).
#include "worker/response_check.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace getmfs::worker {
namespace {

http::HeaderCollector Headers(int status, const std::vector<std::string>& lines) {
  http::HeaderCollector headers;
  std::string first = "HTTP/1.1 " + std::to_string(status) + " X\r\n";
  headers.Feed(first.data(), first.size());
  for (const auto& line : lines) {
    std::string l = line + "\r\n";
    headers.Feed(l.data(), l.size());
  }
  headers.Feed("\r\n", 2);
  return headers;
}

struct Case {
  const char* name;
  int status;
  std::vector<std::string> headers;
  RangeRequest request;
  bool ok;
  std::uint64_t skip;
  bool wider;
  bool ranges_ignored;
  bool retryable;   // when refused
};

const http::SignedUrl kUrl("http://127.0.0.1/obj?X-Amz-Signature=secret");

TEST(ResponseCheckTest, Table) {
  const std::vector<Case> cases = {
      {"exact label", 206, {"Content-Range: bytes 100-199/1000", "Content-Length: 100"}, {100, 199, 1000, ""},
       true, 0, false, false, false},
      {"label of the whole object", 206, {"Content-Range: bytes 0-999/1000", "Content-Length: 1000"},
       {100, 199, 1000, ""}, true, 100, true, true, false},
      {"label from the start asked to the end", 206, {"Content-Range: bytes 100-999/1000"}, {100, 199, 1000, ""},
       true, 0, true, false, false},
      {"label starting earlier, ending where asked", 206, {"Content-Range: bytes 50-199/1000"},
       {100, 199, 1000, ""}, true, 50, false, true, false},
      {"label that misses the first byte", 206, {"Content-Range: bytes 101-199/1000"}, {100, 199, 1000, ""},
       false, 0, false, false, true},
      {"label that misses the last byte", 206, {"Content-Range: bytes 100-198/1000"}, {100, 199, 1000, ""},
       false, 0, false, false, true},
      {"label of another size", 206, {"Content-Range: bytes 100-199/1001"}, {100, 199, 1000, ""}, false, 0,
       false, false, true},
      {"no label", 206, {}, {100, 199, 1000, ""}, false, 0, false, false, true},
      {"unsatisfied label", 206, {"Content-Range: bytes */1000"}, {100, 199, 1000, ""}, false, 0, false, false,
       true},
      {"length that contradicts the label", 206, {"Content-Range: bytes 0-999/1000", "Content-Length: 100"},
       {100, 199, 1000, ""}, false, 0, false, false, true},
      {"200 for the whole object asked", 200, {"Content-Length: 1000"}, {0, 999, 1000, ""}, true, 0, false, false,
       false},
      {"200 for a range: the whole body, skipped to it", 200, {"Content-Length: 1000"}, {100, 199, 1000, ""}, true,
       100, true, true, false},
      {"200 without a length", 200, {}, {100, 999, 1000, ""}, true, 100, false, true, false},
      {"200 of another length", 200, {"Content-Length: 999"}, {0, 999, 1000, ""}, false, 0, false, false, true},
      {"changed ETag", 206, {"Content-Range: bytes 0-9/1000", "ETag: \"b\""}, {0, 9, 1000, "\"a\""}, false, 0,
       false, false, false},
      {"same ETag", 206, {"Content-Range: bytes 0-9/1000", "ETag: \"a\""}, {0, 9, 1000, "\"a\""}, true, 0, false,
       false, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ResponseCheck check = CheckRangeResponse(c.status, Headers(c.status, c.headers), c.request, kUrl);
    EXPECT_EQ(!check.error.has_value(), c.ok) << (check.error ? check.error->message : "");
    if (c.ok) {
      EXPECT_EQ(check.skip, c.skip);
      EXPECT_EQ(check.wider, c.wider);
      EXPECT_EQ(check.ranges_ignored, c.ranges_ignored);
    } else {
      EXPECT_EQ(check.retryable, c.retryable);
      EXPECT_EQ(check.error->message.find("secret"), std::string::npos) << check.error->message;
    }
  }
}

TEST(ResponseCheckTest, AnErrorStatusIsLeftForItsBody) {
  ResponseCheck check = CheckRangeResponse(503, Headers(503, {}), {0, 9, 1000, ""}, kUrl);
  EXPECT_FALSE(check.error.has_value());
  EXPECT_EQ(check.skip, 0u);
}

TEST(ResponseCheckTest, AChangedObjectIsKindChanged) {
  ResponseCheck check =
      CheckRangeResponse(200, Headers(200, {"Content-Length: 1000", "ETag: \"new\""}), {0, 999, 1000, "\"old\""}, kUrl);
  ASSERT_TRUE(check.error.has_value());
  EXPECT_EQ(check.error->kind, ErrorKind::kChanged);
}

}  // namespace
}  // namespace getmfs::worker
