// What the manifest tests share: a signed URL whose query string must never appear in a
// message, the checksums of "hello world", and parsing a manifest that must parse (MustParse)
// or must be refused (ErrorOf).
#ifndef GETMFS_TESTS_UNIT_MANIFEST_TEST_HELPERS_H_
#define GETMFS_TESTS_UNIT_MANIFEST_TEST_HELPERS_H_

#include <gtest/gtest.h>

#include <string>

#include "manifest/manifest.h"

namespace getmfs::manifest {

// A signed URL whose query string must never appear in a message.
inline const std::string kQuery = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=secret";
inline std::string Url(const std::string& path) {
  return "https://bucket.s3.amazonaws.com/" + path + kQuery;
}

inline constexpr const char* kMd5 = "5eb63bbbe01eeed093cb22bb8f5acdc3";  // md5("hello world")
inline constexpr const char* kSha256 =
    "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";  // sha256("hello world")
inline constexpr const char* kCrc32c = "c99465aa";                       // crc32c("hello world")

inline Manifest MustParse(const std::string& text, const std::string& name = "urls.txt") {
  auto manifest = ParseManifestText(text, name);
  EXPECT_TRUE(manifest.ok()) << (manifest.ok() ? "" : manifest.error().message);
  if (!manifest.ok()) return {};
  return *manifest;
}

// The error message, checking the kind and that no signature leaked into it.
inline std::string ErrorOf(const std::string& text, const std::string& name = "urls.txt") {
  auto manifest = ParseManifestText(text, name);
  EXPECT_FALSE(manifest.ok()) << "parsed: " << text;
  if (manifest.ok()) return "";
  EXPECT_EQ(manifest.error().kind, ErrorKind::kBadInput);
  const std::string& message = manifest.error().message;
  EXPECT_EQ(message.find("secret"), std::string::npos) << message;
  EXPECT_EQ(message.find("X-Amz"), std::string::npos) << message;
  EXPECT_EQ(message.find('?'), std::string::npos) << message;
  return message;
}

inline bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}
inline bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace getmfs::manifest

#endif  // GETMFS_TESTS_UNIT_MANIFEST_TEST_HELPERS_H_
