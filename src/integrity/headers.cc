// Choosing the whole-object checksum a server's response headers offer.
#include <optional>
#include <string>
#include <string_view>

#include "integrity/checksum.h"
#include "integrity/encoding.h"
#include "integrity/s3_etag.h"

namespace getmfs::integrity {
namespace {

// Names should already be lowercase; tolerate callers that did not lowercase them.
const std::string* FindHeader(const HeaderMap& headers, std::string_view name) {
  auto it = headers.find(std::string(name));
  if (it != headers.end()) return &it->second;
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return &value;
  }
  return nullptr;
}

// The base64 value of a `key=value` entry in x-goog-hash, which may list several entries
// separated by commas (or come as repeated headers, joined by ", ").
std::optional<std::string> GoogHashEntry(const std::string& goog_hash, std::string_view key) {
  std::string_view rest = goog_hash;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view entry = TrimWhitespace(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    auto equals = entry.find('=');
    if (equals == std::string_view::npos) continue;
    if (!EqualsIgnoreCase(TrimWhitespace(entry.substr(0, equals)), key)) continue;
    return std::string(TrimWhitespace(entry.substr(equals + 1)));
  }
  return std::nullopt;
}

// Lowercase hex of base64 text that must decode to exactly `bytes` bytes.
std::optional<std::string> Base64ToHex(std::string_view text, std::size_t bytes) {
  auto decoded = Base64Decode(text);
  if (!decoded || decoded->size() != bytes) return std::nullopt;
  return HexEncode(decoded->data(), decoded->size());
}

bool FromS3(const HeaderMap& headers) {
  const std::string* server = FindHeader(headers, "server");
  if (server != nullptr && EqualsIgnoreCase(TrimWhitespace(*server), "AmazonS3")) return true;
  for (const auto& [key, value] : headers) {
    if (key.size() >= 6 && EqualsIgnoreCase(std::string_view(key).substr(0, 6), "x-amz-")) {
      return true;
    }
  }
  return false;
}

// SSE-KMS and SSE-C objects have ETags that are not MD5s of the content.
bool EtagIsNotMd5(const HeaderMap& headers) {
  if (FindHeader(headers, "x-amz-server-side-encryption-customer-algorithm") != nullptr) {
    return true;
  }
  const std::string* sse = FindHeader(headers, "x-amz-server-side-encryption");
  if (sse == nullptr) return false;
  std::string_view mode = TrimWhitespace(*sse);
  return EqualsIgnoreCase(mode, "aws:kms") || EqualsIgnoreCase(mode, "aws:kms:dsse");
}

Expected Make(Algorithm algorithm, std::string value, const char* source) {
  Expected expected;
  expected.algorithm = algorithm;
  expected.value = std::move(value);
  expected.source = source;
  return expected;
}

}  // namespace

Expected ChooseFromHeaders(const HeaderMap& headers) {
  if (const std::string* goog_hash = FindHeader(headers, "x-goog-hash")) {
    if (auto crc = GoogHashEntry(*goog_hash, "crc32c")) {
      if (auto hex = Base64ToHex(*crc, 4)) {
        return Make(Algorithm::kGsCrc32c, *hex, "x-goog-hash crc32c");
      }
    }
    if (auto md5 = GoogHashEntry(*goog_hash, "md5")) {
      if (auto hex = Base64ToHex(*md5, 16)) return Make(Algorithm::kMd5, *hex, "x-goog-hash md5");
    }
  }
  if (const std::string* content_md5 = FindHeader(headers, "content-md5")) {
    if (auto hex = Base64ToHex(TrimWhitespace(*content_md5), 16)) {
      return Make(Algorithm::kMd5, *hex, "Content-MD5");
    }
  }
  const std::string* etag = FindHeader(headers, "etag");
  if (etag != nullptr && FromS3(headers) && !EtagIsNotMd5(headers)) {
    std::string_view text = TrimWhitespace(*etag);
    // A weak ETag ("W/...") promises nothing about the bytes.
    if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
      if (auto parsed = ParseS3Etag(text.substr(1, text.size() - 2))) {
        std::string value = parsed->md5_hex;
        if (parsed->parts != 0) value += "-" + std::to_string(parsed->parts);
        return Make(Algorithm::kS3Etag, std::move(value), "ETag (S3)");
      }
    }
  }
  return Expected{};
}

}  // namespace getmfs::integrity
