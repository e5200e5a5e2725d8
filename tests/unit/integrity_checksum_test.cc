// Known-answer tests for src/integrity's expected checksums and their checking: parsing user
// checksums, choosing from headers, and the Verifier.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "integrity/checksum.h"
#include "integrity/encoding.h"
#include "unit/integrity_test_helpers.h"

namespace getmfs::integrity {
namespace {

// ---------------------------------------------------------------------------------------
// ParseUserChecksum

struct ParseCase {
  const char* algorithm;
  const char* value;
  Algorithm expected_algorithm;
  const char* expected_value;
};

TEST(ParseUserChecksumTest, Accepts) {
  const ParseCase cases[] = {
      {"md5", "5EB63BBBE01EEED093CB22BB8F5ACDC3", Algorithm::kMd5,
       "5eb63bbbe01eeed093cb22bb8f5acdc3"},
      {"md5", "XrY7u+Ae7tCTyyK7j1rNww==", Algorithm::kMd5, "5eb63bbbe01eeed093cb22bb8f5acdc3"},
      {"MD5", " 5eb63bbbe01eeed093cb22bb8f5acdc3\n", Algorithm::kMd5,
       "5eb63bbbe01eeed093cb22bb8f5acdc3"},
      {"sha256", "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
       Algorithm::kSha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"crc32c", "E3069283", Algorithm::kCrc32c, "e3069283"},
      {"crc32c", "0xe3069283", Algorithm::kCrc32c, "e3069283"},
      {"gs_crc32c", "n03x6A==", Algorithm::kGsCrc32c, "9f4df1e8"},
      {"gs_crc32c", "AAAAAA==", Algorithm::kGsCrc32c, "00000000"},
      {"gs_crc32c", "9F4DF1E8", Algorithm::kGsCrc32c, "9f4df1e8"},
      {"s3_etag", "5EB63BBBE01EEED093CB22BB8F5ACDC3", Algorithm::kS3Etag,
       "5eb63bbbe01eeed093cb22bb8f5acdc3"},
      {"s3_etag", "\"5eb63bbbe01eeed093cb22bb8f5acdc3-42\"", Algorithm::kS3Etag,
       "5eb63bbbe01eeed093cb22bb8f5acdc3-42"},
      {"null", "", Algorithm::kNone, ""},
  };
  for (const auto& c : cases) {
    auto parsed = ParseUserChecksum(c.algorithm, c.value, "manifest");
    ASSERT_TRUE(parsed) << c.algorithm << " " << c.value << ": " << parsed.error().message;
    EXPECT_EQ(parsed->algorithm, c.expected_algorithm) << c.value;
    EXPECT_EQ(parsed->value, c.expected_value) << c.value;
    EXPECT_EQ(parsed->source, "manifest");
    EXPECT_EQ(parsed->known(), c.expected_algorithm != Algorithm::kNone);
  }
}

TEST(ParseUserChecksumTest, RejectsWithClearMessages) {
  struct BadCase {
    const char* algorithm;
    const char* value;
    const char* message;
  };
  const BadCase cases[] = {
      {"md5", "xyz",
       "md5 checksum \"xyz\" (from manifest) is not 32 hex digits or base64 of 16 bytes"},
      {"md5", "5eb63bbbe01eeed093cb22bb8f5acdc", "is not 32 hex digits or base64 of 16 bytes"},
      {"md5", "5eb63bbbe01eeed093cb22bb8f5acdcg", "is not 32 hex digits or base64 of 16 bytes"},
      {"md5", "XrY7u+Ae7tCTyyK7j1rNw===", "is not 32 hex digits or base64 of 16 bytes"},
      {"md5", "", "is not 32 hex digits or base64 of 16 bytes"},
      {"sha256", "5eb63bbbe01eeed093cb22bb8f5acdc3",
       "sha256 checksum \"5eb63bbbe01eeed093cb22bb8f5acdc3\" (from manifest) is not 64 hex digits"},
      {"crc32c", "e306928", "crc32c checksum \"e306928\" (from manifest) is not 8 hex digits"},
      {"crc32c", "n03x6A==", "is not 8 hex digits"},
      {"crc32c", "3809088131", "is not 8 hex digits"},
      {"gs_crc32c", "n03x6A=",
       "gs_crc32c checksum \"n03x6A=\" (from manifest) is not base64 of 4 bytes or 8 hex digits"},
      {"gs_crc32c", "XrY7u+Ae7tCTyyK7j1rNww==", "is not base64 of 4 bytes or 8 hex digits"},
      {"s3_etag", "5eb63bbbe01eeed093cb22bb8f5acdc3-",
       "s3_etag checksum \"5eb63bbbe01eeed093cb22bb8f5acdc3-\" (from manifest) is not 32 hex "
       "digits"},
      {"s3_etag", "W/\"5eb63bbbe01eeed093cb22bb8f5acdc3\"", "is not 32 hex digits"},
      {"sha1", "a9993e364706816aba3e25717850c26c9cd0d89d",
       "unknown checksum algorithm \"sha1\" (from manifest); expected one of md5, sha256, "
       "crc32c, gs_crc32c, s3_etag, null"},
  };
  for (const auto& c : cases) {
    auto parsed = ParseUserChecksum(c.algorithm, c.value, "manifest");
    ASSERT_FALSE(parsed) << c.algorithm << " " << c.value;
    EXPECT_EQ(parsed.error().kind, ErrorKind::kBadInput);
    EXPECT_NE(parsed.error().message.find(c.message), std::string::npos) << parsed.error().message;
  }
}

TEST(ParseUserChecksumTest, DisplayIsWhatTheUserWrites) {
  EXPECT_EQ(ParseUserChecksum("md5", "XrY7u+Ae7tCTyyK7j1rNww==", "x")->Display(),
            "5eb63bbbe01eeed093cb22bb8f5acdc3");
  EXPECT_EQ(ParseUserChecksum("gs_crc32c", "9f4df1e8", "x")->Display(), "n03x6A==");
  EXPECT_EQ(ParseUserChecksum("crc32c", "0xE3069283", "x")->Display(), "e3069283");
  EXPECT_EQ(ParseUserChecksum("null", "", "x")->Display(), "null");
}

TEST(ParseUserChecksumTest, AlgorithmNames) {
  EXPECT_STREQ(AlgorithmName(Algorithm::kNone), "null");
  EXPECT_STREQ(AlgorithmName(Algorithm::kMd5), "md5");
  EXPECT_STREQ(AlgorithmName(Algorithm::kSha256), "sha256");
  EXPECT_STREQ(AlgorithmName(Algorithm::kCrc32c), "crc32c");
  EXPECT_STREQ(AlgorithmName(Algorithm::kGsCrc32c), "gs_crc32c");
  EXPECT_STREQ(AlgorithmName(Algorithm::kS3Etag), "s3_etag");
}

// ---------------------------------------------------------------------------------------
// ChooseFromHeaders

constexpr char kHelloMd5Base64[] = "XrY7u+Ae7tCTyyK7j1rNww==";
constexpr char kHelloMd5Hex[] = "5eb63bbbe01eeed093cb22bb8f5acdc3";
constexpr char kEtag[] = "\"0123456789abcdef0123456789abcdef-3\"";

TEST(ChooseFromHeadersTest, PriorityOrder) {
  HeaderMap headers = {{"x-goog-hash", "crc32c=n03x6A==, md5=XrY7u+Ae7tCTyyK7j1rNww=="},
                       {"content-md5", "1B2M2Y8AsgTpgAmY7PhCfg=="},
                       {"etag", kEtag},
                       {"server", "AmazonS3"}};
  Expected chosen = ChooseFromHeaders(headers);
  EXPECT_EQ(chosen.algorithm, Algorithm::kGsCrc32c);
  EXPECT_EQ(chosen.value, "9f4df1e8");
  EXPECT_EQ(chosen.source, "x-goog-hash crc32c");
  EXPECT_EQ(chosen.Display(), "n03x6A==");

  headers["x-goog-hash"] = std::string("md5=") + kHelloMd5Base64;
  chosen = ChooseFromHeaders(headers);
  EXPECT_EQ(chosen.algorithm, Algorithm::kMd5);
  EXPECT_EQ(chosen.value, kHelloMd5Hex);
  EXPECT_EQ(chosen.source, "x-goog-hash md5");

  headers.erase("x-goog-hash");
  chosen = ChooseFromHeaders(headers);
  EXPECT_EQ(chosen.algorithm, Algorithm::kMd5);
  EXPECT_EQ(chosen.value, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(chosen.source, "Content-MD5");

  headers.erase("content-md5");
  chosen = ChooseFromHeaders(headers);
  EXPECT_EQ(chosen.algorithm, Algorithm::kS3Etag);
  EXPECT_EQ(chosen.value, "0123456789abcdef0123456789abcdef-3");
  EXPECT_EQ(chosen.source, "ETag (S3)");

  headers.erase("etag");
  EXPECT_EQ(ChooseFromHeaders(headers).algorithm, Algorithm::kNone);
  EXPECT_FALSE(ChooseFromHeaders({}).known());
}

TEST(ChooseFromHeadersTest, GoogHashJoinedAndMalformed) {
  // Repeated x-goog-hash headers arrive joined, in either order.
  Expected chosen = ChooseFromHeaders(
      {{"x-goog-hash", std::string("md5=") + kHelloMd5Base64 + ", crc32c=yZRlqg=="}});
  EXPECT_EQ(chosen.algorithm, Algorithm::kGsCrc32c);
  EXPECT_EQ(chosen.value, "c99465aa");
  // A malformed crc32c falls back to the md5.
  chosen =
      ChooseFromHeaders({{"x-goog-hash", std::string("crc32c=bogus!!, md5=") + kHelloMd5Base64}});
  EXPECT_EQ(chosen.algorithm, Algorithm::kMd5);
  EXPECT_EQ(chosen.value, kHelloMd5Hex);
  EXPECT_FALSE(ChooseFromHeaders({{"x-goog-hash", "md5=AAAA"}}).known());
  EXPECT_FALSE(ChooseFromHeaders({{"content-md5", "not base64"}}).known());
}

TEST(ChooseFromHeadersTest, EtagOnlyFromS3) {
  EXPECT_FALSE(ChooseFromHeaders({{"etag", kEtag}}).known());
  EXPECT_FALSE(ChooseFromHeaders({{"etag", kEtag}, {"server", "nginx"}}).known());
  EXPECT_TRUE(ChooseFromHeaders({{"etag", kEtag}, {"server", "amazons3"}}).known());
  Expected chosen = ChooseFromHeaders({{"etag", kEtag}, {"x-amz-request-id", "ABC"}});
  EXPECT_EQ(chosen.algorithm, Algorithm::kS3Etag);
  EXPECT_EQ(chosen.source, "ETag (S3)");
  chosen = ChooseFromHeaders({{"etag", "\"0123456789ABCDEF0123456789ABCDEF\""},
                              {"x-amz-server-side-encryption", "AES256"}});
  EXPECT_EQ(chosen.algorithm, Algorithm::kS3Etag);
  EXPECT_EQ(chosen.value, "0123456789abcdef0123456789abcdef");
}

TEST(ChooseFromHeadersTest, EtagIgnoredWhenNotAnMd5) {
  for (const char* sse : {"aws:kms", "aws:kms:dsse"}) {
    EXPECT_FALSE(
        ChooseFromHeaders(
            {{"etag", kEtag}, {"server", "AmazonS3"}, {"x-amz-server-side-encryption", sse}})
            .known())
        << sse;
  }
  EXPECT_FALSE(ChooseFromHeaders({{"etag", kEtag},
                                  {"server", "AmazonS3"},
                                  {"x-amz-server-side-encryption-customer-algorithm", "AES256"}})
                   .known());
  EXPECT_FALSE(
      ChooseFromHeaders({{"etag", std::string("W/") + kEtag}, {"server", "AmazonS3"}}).known());
  EXPECT_FALSE(ChooseFromHeaders({{"etag", "\"abc\""}, {"server", "AmazonS3"}}).known());
  // The KMS rule only hides the ETag, not a real MD5.
  Expected chosen = ChooseFromHeaders({{"etag", kEtag},
                                       {"content-md5", kHelloMd5Base64},
                                       {"x-amz-server-side-encryption", "aws:kms"}});
  EXPECT_EQ(chosen.algorithm, Algorithm::kMd5);
}

// ---------------------------------------------------------------------------------------
// Verifier

TEST(VerifierTest, SizeMismatch) {
  Expected md5 = Make(Algorithm::kMd5, "900150983cd24fb0d6963f7d28e17f72");
  {
    Verifier verifier(md5, 4);
    verifier.Update("abc", 3);
    Status status = verifier.Finish();
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().kind, ErrorKind::kIntegrity);
    EXPECT_NE(status.error().message.find("expected 4 bytes, got 3"), std::string::npos)
        << status.error().message;
  }
  {
    Verifier verifier(Make(Algorithm::kCrc32c, "e3069283"), 8);
    verifier.Update("123456789", 9);
    EXPECT_FALSE(verifier.Finish());
  }
  {
    Verifier verifier(Make(Algorithm::kCrc32c, "e3069283"), 9);
    verifier.Update("12345678", 8, Crc("12345678"));
    EXPECT_FALSE(verifier.Finish());
  }
}

TEST(VerifierTest, MismatchMessage) {
  Expected expected = Make(Algorithm::kMd5, "5eb63bbbe01eeed093cb22bb8f5acdc3");
  expected.source = "Content-MD5";
  Status status = Verify(expected, "hello worle");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().kind, ErrorKind::kIntegrity);
  std::string actual = ToHex(OpenSslDigest(EVP_md5(), "hello worle"));
  EXPECT_EQ(status.error().message,
            "checksum mismatch: md5 expected "
            "5eb63bbbe01eeed093cb22bb8f5acdc3, got " +
                actual + "; source Content-MD5");
}

TEST(VerifierTest, NoneAlwaysPasses) {
  Verifier verifier(Expected{}, 100);
  EXPECT_FALSE(verifier.NeedsBytes());
  verifier.Update("abc", 3);
  EXPECT_TRUE(verifier.Finish());
}

TEST(VerifierTest, NeedsBytes) {
  EXPECT_TRUE(Verifier(Make(Algorithm::kMd5, "x"), 0).NeedsBytes());
  EXPECT_TRUE(Verifier(Make(Algorithm::kSha256, "x"), 0).NeedsBytes());
  EXPECT_TRUE(Verifier(Make(Algorithm::kS3Etag, "x"), 0).NeedsBytes());
  EXPECT_FALSE(Verifier(Make(Algorithm::kCrc32c, "x"), 0).NeedsBytes());
  EXPECT_FALSE(Verifier(Make(Algorithm::kGsCrc32c, "x"), 0).NeedsBytes());
}

TEST(VerifierTest, ManySmallPiecesEqualOnePiece) {
  std::string data = RandomBytes(2 * 5 * kMiB + 4321, 10);
  std::string md5 = ToHex(OpenSslDigest(EVP_md5(), data));
  std::string sha = ToHex(OpenSslDigest(EVP_sha256(), data));
  std::string crc = Crc32cHex(Crc(data));
  const Expected expectations[] = {
      Make(Algorithm::kMd5, md5),
      Make(Algorithm::kSha256, sha),
      Make(Algorithm::kCrc32c, crc),
      Make(Algorithm::kGsCrc32c, crc),
      Make(Algorithm::kS3Etag, md5),
      Make(Algorithm::kS3Etag, ReferenceMultipartEtag(data, 5 * kMiB)),
  };
  for (const Expected& expected : expectations) {
    for (std::size_t piece : {std::size_t{0}, std::size_t{1} << 20, std::size_t{4097}}) {
      EXPECT_TRUE(Verify(expected, data, piece))
          << AlgorithmName(expected.algorithm) << " piece " << piece;
    }
    std::string corrupted = data;
    corrupted[corrupted.size() / 2] ^= 0x40;
    EXPECT_FALSE(Verify(expected, corrupted, 4097)) << AlgorithmName(expected.algorithm);
  }
  // Pieces of 1 byte over a smaller object.
  std::string small = data.substr(0, 3000);
  Expected small_md5 = Make(Algorithm::kMd5, ToHex(OpenSslDigest(EVP_md5(), small)));
  EXPECT_TRUE(Verify(small_md5, small, 1));
}

TEST(VerifierTest, UsesTheGivenCrcForCrcAlgorithms) {
  std::string data = RandomBytes(kMiB + 17, 11);
  for (Algorithm algorithm : {Algorithm::kCrc32c, Algorithm::kGsCrc32c}) {
    Expected expected = Make(algorithm, Crc32cHex(Crc(data)));
    Verifier good(expected, data.size());
    Verifier lied_to(expected, data.size());
    for (std::size_t off = 0; off < data.size(); off += 65536) {
      std::string_view piece = std::string_view(data).substr(off, 65536);
      good.Update(piece.data(), piece.size(), Crc(piece));
      // A wrong crc proves the given crc is used rather than the bytes.
      lied_to.Update(piece.data(), piece.size(), Crc(piece) ^ (off == 0 ? 1 : 0));
    }
    EXPECT_TRUE(good.Finish()) << AlgorithmName(algorithm);
    EXPECT_FALSE(lied_to.Finish()) << AlgorithmName(algorithm);
  }
  // Digest algorithms hash the bytes and ignore the crc.
  Expected md5 = Make(Algorithm::kMd5, ToHex(OpenSslDigest(EVP_md5(), data)));
  Verifier verifier(md5, data.size());
  verifier.Update(data.data(), data.size(), 0x12345678);
  EXPECT_TRUE(verifier.Finish());
}

TEST(VerifierTest, FinishIsIdempotent) {
  Verifier verifier(Make(Algorithm::kMd5, "900150983cd24fb0d6963f7d28e17f72"), 3);
  verifier.Update("abc", 3);
  EXPECT_TRUE(verifier.Finish());
  EXPECT_TRUE(verifier.Finish());
  EXPECT_EQ(verifier.expected().value, "900150983cd24fb0d6963f7d28e17f72");
}

}  // namespace
}  // namespace getmfs::integrity
