// Algorithm names, Expected::Display and parsing the checksums users give.
#include "integrity/checksum.h"

#include <utility>

#include "integrity/encoding.h"
#include "integrity/s3_etag.h"

namespace getmfs::integrity {
namespace {

constexpr Algorithm kAllAlgorithms[] = {Algorithm::kMd5,    Algorithm::kSha256,
                                        Algorithm::kCrc32c, Algorithm::kGsCrc32c,
                                        Algorithm::kS3Etag, Algorithm::kNone};

Error BadValue(Algorithm algorithm, std::string_view value, const std::string& source,
               std::string_view what) {
  std::string message =
      std::string(AlgorithmName(algorithm)) + " checksum \"" + std::string(value) + "\"";
  if (!source.empty()) message += " (from " + source + ")";
  message += " is not ";
  message += what;
  return Error{ErrorKind::kBadInput, std::move(message)};
}

// A digest of `bytes` bytes given as hex or as base64 (as the user may copy it from
// x-goog-hash or Content-MD5), as lowercase hex.
std::optional<std::string> NormalisedDigest(std::string_view value, std::size_t bytes) {
  if (IsHex(value, 2 * bytes)) return ToLower(value);
  if (value.size() != (bytes + 2) / 3 * 4) return std::nullopt;
  auto decoded = Base64Decode(value);
  if (!decoded || decoded->size() != bytes) return std::nullopt;
  return HexEncode(decoded->data(), decoded->size());
}

std::optional<std::string> NormalisedGsCrc32c(std::string_view value) { return NormalisedDigest(value, 4); }
std::optional<std::string> NormalisedMd5(std::string_view value) { return NormalisedDigest(value, 16); }

std::string_view StripQuotes(std::string_view value) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    return value.substr(1, value.size() - 2);
  }
  return value;
}

}  // namespace

const char* AlgorithmName(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kNone: return "null";
    case Algorithm::kMd5: return "md5";
    case Algorithm::kSha256: return "sha256";
    case Algorithm::kCrc32c: return "crc32c";
    case Algorithm::kGsCrc32c: return "gs_crc32c";
    case Algorithm::kS3Etag: return "s3_etag";
  }
  return "unknown";
}

std::string Expected::Display() const {
  switch (algorithm) {
    case Algorithm::kNone: return "null";
    case Algorithm::kGsCrc32c: {
      auto bytes = HexDecode(value);
      if (!bytes) return value;
      return Base64Encode(bytes->data(), bytes->size());
    }
    default: return value;
  }
}

Result<Expected> ParseUserChecksum(const std::string& algorithm_name, const std::string& value,
                                   const std::string& source) {
  std::string name = ToLower(TrimWhitespace(algorithm_name));
  std::optional<Algorithm> found;
  for (Algorithm algorithm : kAllAlgorithms) {
    if (name == AlgorithmName(algorithm)) found = algorithm;
  }
  if (!found) {
    std::string message = "unknown checksum algorithm \"" + algorithm_name + "\"";
    if (!source.empty()) message += " (from " + source + ")";
    message += "; expected one of";
    const char* separator = " ";
    for (Algorithm algorithm : kAllAlgorithms) {
      message += separator;
      message += AlgorithmName(algorithm);
      separator = ", ";
    }
    return Error{ErrorKind::kBadInput, std::move(message)};
  }

  Expected expected;
  expected.algorithm = *found;
  expected.source = source;
  std::string_view text = TrimWhitespace(value);
  switch (*found) {
    case Algorithm::kNone: return expected;
    case Algorithm::kMd5: {
      auto hex = NormalisedMd5(text);
      if (!hex) return BadValue(*found, value, source, "32 hex digits or base64 of 16 bytes");
      expected.value = *hex;
      return expected;
    }
    case Algorithm::kSha256:
      if (!IsHex(text, 64)) return BadValue(*found, value, source, "64 hex digits");
      expected.value = ToLower(text);
      return expected;
    case Algorithm::kCrc32c:
      if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
      if (!IsHex(text, 8)) return BadValue(*found, value, source, "8 hex digits");
      expected.value = ToLower(text);
      return expected;
    case Algorithm::kGsCrc32c: {
      auto hex = NormalisedGsCrc32c(text);
      if (!hex) return BadValue(*found, value, source, "base64 of 4 bytes or 8 hex digits");
      expected.value = *hex;
      return expected;
    }
    case Algorithm::kS3Etag: {
      auto etag = ParseS3Etag(StripQuotes(text));
      if (!etag) {
        return BadValue(*found, value, source,
                        "32 hex digits, optionally followed by -<number of parts>");
      }
      expected.value = etag->md5_hex;
      if (etag->parts != 0) expected.value += "-" + std::to_string(etag->parts);
      return expected;
    }
  }
  return Error{ErrorKind::kInternal, "unhandled checksum algorithm"};
}

}  // namespace getmfs::integrity
