// Hostile response headers: the input is a raw header block (a status line, then
// "Name: value" lines), fed line by line to HeaderCollector as libcurl would. Every header
// value also goes through each value parser, so each one sees every kind of text.
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "http/probe.h"
#include "http/response.h"
#include "integrity/checksum.h"
#include "integrity/s3_etag.h"
#include "worker/response_check.h"

namespace {

using namespace getmfs;

[[noreturn]] void Fail(const char* what, const std::string& value) {
  std::fprintf(stderr, "header invariant broken: %s: \"%s\"\n", what, value.c_str());
  std::abort();
}

void CheckValueParsers(const std::string& value) {
  if (auto cr = http::ParseContentRange(value)) {
    if (cr->first.has_value() != cr->last.has_value()) Fail("Content-Range half a range", value);
    if (cr->first && *cr->last < *cr->first) Fail("Content-Range last < first", value);
    if (cr->first && cr->total && *cr->last >= *cr->total) Fail("Content-Range past total", value);
    if (!cr->first && !cr->total) Fail("Content-Range with nothing", value);
  }
  if (auto wait = http::ParseRetryAfter(value)) {
    if (!(*wait >= 0) || std::isinf(*wait)) Fail("Retry-After not a wait", value);
  }
  std::string name = http::ContentDispositionFilename(value);
  if (name == "." || name == "..") Fail("Content-Disposition dot name", value);
  for (char c : name) {
    if (c == '/' || c == '\\' || std::iscntrl(static_cast<unsigned char>(c))) Fail("Content-Disposition name", value);
  }
  if (auto etag = integrity::ParseS3Etag(value)) {
    if (etag->md5_hex.size() != 32) Fail("S3 ETag md5", value);
    for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{1} << 20, std::uint64_t{5} << 30, ~std::uint64_t{0}}) {
      for (std::uint64_t part : integrity::S3PartSizeCandidates(size, etag->parts)) {
        if (part == 0 || integrity::S3PartCount(size, part) != etag->parts) Fail("S3 part size candidate", value);
      }
    }
  }
}

// block: the raw headers (a secret they hold themselves may be quoted back).
void CheckResponse(const http::HeaderCollector& collector, const std::string& block) {
  const http::SignedUrl url("https://bucket.s3.amazonaws.com/key?X-Amz-Signature=secret");
  for (int status : {200, 206, 416, collector.status()}) {
    auto meta = http::MetaFromProbeResponse(status, collector.headers(), url);
    if (!meta.ok() && meta.error().message.find("secret") != std::string::npos &&
        block.find("secret") == std::string::npos) {
      Fail("probe error quotes the query", meta.error().message);
    }
  }
  integrity::Expected expected = integrity::ChooseFromHeaders(collector.headers());
  if (expected.known() && expected.value.empty()) Fail("checksum without a value", expected.source);
  worker::RangeRequest request{0, 65535, 1 << 20, collector.Get("etag")};
  worker::ResponseCheck check = worker::CheckRangeResponse(collector.status(), collector, request, url);
  if (!check.error && check.skip > request.first) Fail("range check skips past the asked byte", "");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string block(reinterpret_cast<const char*>(data), size);
  http::HeaderCollector collector;
  std::size_t pos = 0;
  while (pos < block.size()) {
    std::size_t end = block.find('\n', pos);
    end = end == std::string::npos ? block.size() : end + 1;
    collector.Feed(block.data() + pos, end - pos);
    pos = end;
  }
  for (const auto& [name, value] : collector.headers()) CheckValueParsers(value);
  CheckResponse(collector, block);
  return 0;
}
