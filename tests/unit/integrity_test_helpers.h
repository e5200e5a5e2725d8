// What the integrity tests share: pseudo-random bytes, straight OpenSSL digests and the
// multipart ETag computed the obvious way (independent of the code under test), an Expected
// checksum, and feeding a Verifier.
#ifndef GETMFS_TESTS_UNIT_INTEGRITY_TEST_HELPERS_H_
#define GETMFS_TESTS_UNIT_INTEGRITY_TEST_HELPERS_H_

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "integrity/checksum.h"

namespace getmfs::integrity {

inline constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

inline std::string RandomBytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string data(n, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  return data;
}

// Straight OpenSSL, independent of the code under test.
inline std::string OpenSslDigest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), out, &len, md, nullptr), 1);
  return std::string(reinterpret_cast<char*>(out), len);
}

inline std::string ToHex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// The multipart ETag computed the obvious way: md5 each part, md5 the concatenation.
inline std::string ReferenceMultipartEtag(std::string_view data, std::size_t part_size) {
  std::string part_md5s;
  std::size_t parts = 0;
  for (std::size_t off = 0; off < data.size(); off += part_size, ++parts) {
    part_md5s += OpenSslDigest(EVP_md5(), data.substr(off, part_size));
  }
  return ToHex(OpenSslDigest(EVP_md5(), part_md5s)) + "-" + std::to_string(parts);
}

inline Expected Make(Algorithm algorithm, std::string value, std::size_t s3_part_size = 0) {
  Expected expected;
  expected.algorithm = algorithm;
  expected.value = std::move(value);
  expected.source = "test";
  expected.s3_part_size = s3_part_size;
  return expected;
}

// Feeds data in pieces of `piece` bytes (all at once when 0) and returns Finish().
inline Status Verify(const Expected& expected, std::string_view data, std::size_t piece = 0) {
  Verifier verifier(expected, data.size());
  if (piece == 0) piece = data.size() + 1;
  for (std::size_t off = 0; off < data.size(); off += piece) {
    auto part = data.substr(off, piece);
    verifier.Update(part.data(), part.size());
  }
  return verifier.Finish();
}

inline std::uint32_t Crc(std::string_view data) { return Crc32c(0, data.data(), data.size()); }

}  // namespace getmfs::integrity

#endif  // GETMFS_TESTS_UNIT_INTEGRITY_TEST_HELPERS_H_
