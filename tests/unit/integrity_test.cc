// Known-answer and property tests for src/integrity: digests, CRC32C, S3 ETags, parsing user
// checksums, choosing from headers, and the Verifier.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "integrity/checksum.h"
#include "integrity/digest.h"
#include "integrity/encoding.h"
#include "integrity/s3_etag.h"

namespace getmfs::integrity {
namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

std::string Pattern(std::size_t n, unsigned seed = 0) {
  std::string data(n, '\0');
  for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<char>(i * 7 + 3 + seed);
  return data;
}

std::string RandomBytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string data(n, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  return data;
}

// Straight OpenSSL, independent of the code under test.
std::string OpenSslDigest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), out, &len, md, nullptr), 1);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string ToHex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

// The multipart ETag computed the obvious way: md5 each part, md5 the concatenation.
std::string ReferenceMultipartEtag(std::string_view data, std::size_t part_size) {
  std::string part_md5s;
  std::size_t parts = 0;
  for (std::size_t off = 0; off < data.size(); off += part_size, ++parts) {
    part_md5s += OpenSslDigest(EVP_md5(), data.substr(off, part_size));
  }
  return ToHex(OpenSslDigest(EVP_md5(), part_md5s)) + "-" + std::to_string(parts);
}

Expected Make(Algorithm algorithm, std::string value, std::size_t s3_part_size = 0) {
  Expected expected;
  expected.algorithm = algorithm;
  expected.value = std::move(value);
  expected.source = "test";
  expected.s3_part_size = s3_part_size;
  return expected;
}

// Feeds data in pieces of `piece` bytes (all at once when 0) and returns Finish().
Status Verify(const Expected& expected, std::string_view data, std::size_t piece = 0) {
  Verifier verifier(expected, data.size());
  if (piece == 0) piece = data.size() + 1;
  for (std::size_t off = 0; off < data.size(); off += piece) {
    auto part = data.substr(off, piece);
    verifier.Update(part.data(), part.size());
  }
  return verifier.Finish();
}

std::uint32_t Crc(std::string_view data) { return Crc32c(0, data.data(), data.size()); }

// ---------------------------------------------------------------------------------------
// Digests

TEST(DigestTest, Md5KnownAnswers) {
  EXPECT_EQ(Md5Hex("", 0), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Md5Hex("abc", 3), "900150983cd24fb0d6963f7d28e17f72");
  std::string pattern = Pattern(kMiB);
  EXPECT_EQ(Md5Hex(pattern.data(), pattern.size()), "d8a469bb35fb5fad7156842ba2242434");
}

TEST(DigestTest, Sha256KnownAnswers) {
  EXPECT_EQ(Sha256Hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc", 3),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, FinishResetsForTheNextMessage) {
  Digest digest(Digest::Kind::kMd5);
  digest.Update("junk", 4);
  digest.FinishHex();
  digest.Update("abc", 3);
  EXPECT_EQ(digest.FinishHex(), "900150983cd24fb0d6963f7d28e17f72");
}

TEST(DigestTest, VerifierKnownAnswers) {
  std::string pattern = Pattern(kMiB);
  EXPECT_TRUE(Verify(Make(Algorithm::kMd5, "d41d8cd98f00b204e9800998ecf8427e"), ""));
  EXPECT_TRUE(Verify(Make(Algorithm::kMd5, "900150983cd24fb0d6963f7d28e17f72"), "abc"));
  EXPECT_TRUE(Verify(Make(Algorithm::kMd5, "d8a469bb35fb5fad7156842ba2242434"), pattern));
  EXPECT_TRUE(Verify(
      Make(Algorithm::kSha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
      ""));
  EXPECT_TRUE(Verify(
      Make(Algorithm::kSha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
      "abc"));
  EXPECT_FALSE(Verify(Make(Algorithm::kMd5, "900150983cd24fb0d6963f7d28e17f72"), "abd"));
}

// ---------------------------------------------------------------------------------------
// CRC32C

TEST(Crc32cTest, KnownAnswers) {
  EXPECT_EQ(Crc("123456789"), 0xe3069283u);
  EXPECT_EQ(Crc(""), 0u);
  EXPECT_EQ(Crc(std::string(32, '\0')), 0x8a9136aau);
  EXPECT_EQ(Crc(std::string(32, '\xff')), 0x62a8ab43u);
  EXPECT_EQ(Crc("hello world"), 0xc99465aau);
  EXPECT_EQ(Crc32cHex(0xc99465aa), "c99465aa");
  EXPECT_EQ(Crc32cHex(0x0000000f), "0000000f");
  EXPECT_EQ(Crc32cBase64(0xc99465aa), "yZRlqg==");
  EXPECT_EQ(Crc32cBase64(0x9f4df1e8), "n03x6A==");
}

TEST(Crc32cTest, Chains) {
  EXPECT_EQ(Crc32c(Crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
  std::string data = RandomBytes(100000, 1);
  std::uint32_t crc = 0;
  for (std::size_t off = 0; off < data.size(); off += 777) {
    crc = Crc32c(crc, data.data() + off, std::min<std::size_t>(777, data.size() - off));
  }
  EXPECT_EQ(crc, Crc(data));
}

TEST(Crc32cTest, CombineRandomSplits) {
  std::string data = RandomBytes(3 * kMiB + 12345, 2);
  std::uint32_t whole = Crc(data);
  std::mt19937_64 rng(3);
  std::vector<std::size_t> splits = {0, 1, data.size() - 1, data.size()};
  for (int i = 0; i < 20; ++i) splits.push_back(rng() % (data.size() + 1));
  for (std::size_t split : splits) {
    std::string_view a(data.data(), split);
    std::string_view b(data.data() + split, data.size() - split);
    EXPECT_EQ(Crc32cCombine(Crc(a), Crc(b), b.size()), whole) << "split " << split;
  }
  // len_b == 0: appending nothing changes nothing.
  EXPECT_EQ(Crc32cCombine(0x12345678, 0, 0), 0x12345678u);
  EXPECT_EQ(Crc32cCombine(Crc("123456789"), Crc(""), 0), 0xe3069283u);
}

TEST(Crc32cTest, CombineBeyond4GiB) {
  // CRC of "abc" followed by 4 GiB + 12345 zero bytes, chained over a 1 MiB buffer.
  std::string zeros(kMiB, '\0');
  const std::uint64_t zero_len = 4096 * kMiB + 12345;
  std::uint32_t direct = Crc("abc");
  std::uint32_t zeros_only = 0;
  for (std::uint64_t done = 0; done < zero_len;) {
    std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(kMiB, zero_len - done));
    direct = Crc32c(direct, zeros.data(), take);
    zeros_only = Crc32c(zeros_only, zeros.data(), take);
    done += take;
  }
  EXPECT_EQ(Crc32cCombine(Crc("abc"), zeros_only, zero_len), direct);
}

TEST(Crc32cTest, CombineIsAssociativeAndFastForHugeLengths) {
  const std::uint32_t a = 0xdeadbeef, b = 0x01234567, c = 0x89abcdef;
  const std::uint64_t lengths[][2] = {{1, 1},
                                      {kMiB, 3},
                                      {std::uint64_t{1} << 40, (std::uint64_t{1} << 41) + 17},
                                      {(std::uint64_t{1} << 62) + 5, (std::uint64_t{1} << 62) - 1}};
  auto start = std::chrono::steady_clock::now();
  for (const auto& len : lengths) {
    std::uint32_t left = Crc32cCombine(Crc32cCombine(a, b, len[0]), c, len[1]);
    std::uint32_t right = Crc32cCombine(a, Crc32cCombine(b, c, len[1]), len[0] + len[1]);
    EXPECT_EQ(left, right) << len[0] << " + " << len[1];
  }
  for (int i = 0; i < 10000; ++i) Crc32cCombine(a, b, ~std::uint64_t{0} - i);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

// ---------------------------------------------------------------------------------------
// gs_crc32c

TEST(GsCrc32cTest, Base64RoundTrip) {
  auto parsed = ParseUserChecksum("gs_crc32c", "yZRlqg==", "manifest");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->algorithm, Algorithm::kGsCrc32c);
  EXPECT_EQ(parsed->value, "c99465aa");
  EXPECT_EQ(parsed->Display(), "yZRlqg==");
  EXPECT_TRUE(Verify(*parsed, "hello world"));

  auto hex = ParseUserChecksum("gs_crc32c", "C99465AA", "manifest");
  ASSERT_TRUE(hex) << hex.error().message;
  EXPECT_EQ(hex->value, "c99465aa");
  EXPECT_EQ(hex->Display(), "yZRlqg==");
}

TEST(GsCrc32cTest, MismatchShowsBase64) {
  Status status = Verify(Make(Algorithm::kGsCrc32c, "9f4df1e8"), "hello world");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().kind, ErrorKind::kIntegrity);
  const std::string& message = status.error().message;
  EXPECT_NE(message.find("checksum mismatch: gs_crc32c"), std::string::npos) << message;
  EXPECT_NE(message.find("\"n03x6A==\""), std::string::npos) << message;
  EXPECT_NE(message.find("\"yZRlqg==\""), std::string::npos) << message;
  EXPECT_NE(message.find("source test"), std::string::npos) << message;
}

TEST(GsCrc32cTest, Crc32cHexVerifies) {
  EXPECT_TRUE(Verify(Make(Algorithm::kCrc32c, "e3069283"), "123456789"));
  Status status = Verify(Make(Algorithm::kCrc32c, "e3069284"), "123456789");
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("crc32c expected e3069284, got e3069283"),
            std::string::npos)
      << status.error().message;
}

// ---------------------------------------------------------------------------------------
// S3 ETags

TEST(S3EtagTest, SinglePartIsMd5) {
  EXPECT_TRUE(Verify(Make(Algorithm::kS3Etag, "900150983cd24fb0d6963f7d28e17f72"), "abc"));
  EXPECT_FALSE(Verify(Make(Algorithm::kS3Etag, "900150983cd24fb0d6963f7d28e17f72"), "abd"));
}

TEST(S3EtagTest, MultipartWithGivenPartSize) {
  std::string data = RandomBytes(3 * 5 * kMiB + 12345, 4);
  std::string etag = ReferenceMultipartEtag(data, 5 * kMiB);
  ASSERT_EQ(etag.substr(etag.size() - 2), "-4");
  S3MultipartEtag computed(5 * kMiB);
  computed.Update(data.data(), data.size());
  EXPECT_EQ(computed.Finish(), etag);
  EXPECT_TRUE(Verify(Make(Algorithm::kS3Etag, etag, 5 * kMiB), data));
  EXPECT_TRUE(Verify(Make(Algorithm::kS3Etag, etag, 5 * kMiB), data, 4096));
  EXPECT_TRUE(Verify(Make(Algorithm::kS3Etag, etag, 5 * kMiB), data, 7 * kMiB + 3));
  // A wrong part size given by the user is not second-guessed.
  Status wrong = Verify(Make(Algorithm::kS3Etag, etag, 6 * kMiB), data);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().kind, ErrorKind::kIntegrity);
  EXPECT_NE(wrong.error().message.find("part size 6291456"), std::string::npos)
      << wrong.error().message;
}

TEST(S3EtagTest, GuessesCommonToolPartSizes) {
  for (std::uint64_t part_size : {5 * kMiB, 8 * kMiB, 16 * kMiB}) {
    std::string data = RandomBytes(2 * part_size + 1000, static_cast<std::uint32_t>(part_size));
    std::string etag = ReferenceMultipartEtag(data, part_size);
    ASSERT_EQ(etag.substr(etag.size() - 2), "-3");
    EXPECT_TRUE(Verify(Make(Algorithm::kS3Etag, etag), data, 1 << 16)) << part_size;
  }
}

TEST(S3EtagTest, GuessesEvenSplitRoundedToMiB) {
  std::string data = RandomBytes(20 * kMiB + 777, 5);  // 3 parts of 7 MiB (not a tool size)
  std::string etag = ReferenceMultipartEtag(data, 7 * kMiB);
  ASSERT_EQ(etag.substr(etag.size() - 2), "-3");
  EXPECT_TRUE(Verify(Make(Algorithm::kS3Etag, etag), data, 1 << 20));
}

TEST(S3EtagTest, GuessesExactEvenSplit) {
  const std::size_t part = 6000001;
  std::string data = RandomBytes(3 * part - 1, 6);
  std::string etag = ReferenceMultipartEtag(data, part);
  ASSERT_EQ(etag.substr(etag.size() - 2), "-3");
  EXPECT_TRUE(Verify(Make(Algorithm::kS3Etag, etag), data, 100000));
}

TEST(S3EtagTest, MismatchNamesTheCandidates) {
  std::string data = RandomBytes(2 * 8 * kMiB + 1000, 7);
  std::string etag = ReferenceMultipartEtag(data, 8 * kMiB);
  data[12345] ^= 1;
  Status status = Verify(Make(Algorithm::kS3Etag, etag), data);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().kind, ErrorKind::kIntegrity);
  const std::string& message = status.error().message;
  EXPECT_NE(message.find("checksum mismatch: s3_etag expected " + etag), std::string::npos)
      << message;
  EXPECT_NE(message.find("part size 8388608"), std::string::npos) << message;
  EXPECT_NE(message.find("source test"), std::string::npos) << message;
}

TEST(S3EtagTest, UnguessableLayout) {
  // 10 bytes cannot be cut into 6 parts that are all equal but the last.
  Status status =
      Verify(Make(Algorithm::kS3Etag, "0123456789abcdef0123456789abcdef-6"), "0123456789");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().kind, ErrorKind::kIntegrity);
  const std::string& message = status.error().message;
  EXPECT_NE(message.find("cannot verify S3 multipart ETag 0123456789abcdef0123456789abcdef-6"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("no part size consistent with size 10"), std::string::npos) << message;
  EXPECT_NE(message.find("--s3-part-size"), std::string::npos) << message;
}

TEST(S3EtagTest, OnePartMultipart) {
  std::string data = RandomBytes(3 * kMiB, 8);
  std::string etag = ReferenceMultipartEtag(data, 8 * kMiB);
  ASSERT_EQ(etag.substr(etag.size() - 2), "-1");
  EXPECT_TRUE(Verify(Make(Algorithm::kS3Etag, etag), data, 1000));
}

TEST(S3EtagTest, CandidatesAreConsistentAndFew) {
  EXPECT_EQ(S3PartSizeCandidates(100 * kMiB, 13),
            (std::vector<std::uint64_t>{8 * kMiB, (100 * kMiB + 12) / 13}));
  EXPECT_TRUE(S3PartSizeCandidates(10, 6).empty());
  EXPECT_EQ(S3PartSizeCandidates(3 * kMiB, 1), (std::vector<std::uint64_t>{3 * kMiB}));
  // A size a server may claim (Content-Range total) near 2^64: rounding up to a whole MiB
  // wrapped to a part size of 0, and a division by zero (found by fuzz_headers).
  constexpr std::uint64_t kMax = ~std::uint64_t{0};
  EXPECT_EQ(S3PartSizeCandidates(kMax, 1), (std::vector<std::uint64_t>{kMax}));
  EXPECT_EQ(S3PartSizeCandidates(kMax, 2), (std::vector<std::uint64_t>{std::uint64_t{1} << 63}));
  std::mt19937_64 rng(9);
  for (int i = 0; i < 2000; ++i) {
    std::uint64_t size = rng() % (std::uint64_t{1} << 40) + 1;
    std::uint64_t parts = rng() % 200 + 1;
    if (i % 2 == 0) parts = S3PartCount(size, (rng() % 64 + 5) * kMiB);
    auto candidates = S3PartSizeCandidates(size, parts);
    EXPECT_LE(candidates.size(), 6u) << size << " " << parts;
    for (std::uint64_t candidate : candidates) {
      EXPECT_EQ(S3PartCount(size, candidate), parts) << size << " " << candidate;
    }
  }
}

TEST(S3EtagTest, Parse) {
  auto plain = ParseS3Etag("0123456789ABCDEF0123456789abcdef");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->md5_hex, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(plain->parts, 0u);
  auto multi = ParseS3Etag("0123456789abcdef0123456789abcdef-10000");
  ASSERT_TRUE(multi);
  EXPECT_EQ(multi->parts, 10000u);
  for (const char* bad :
       {"", "0123456789abcdef0123456789abcde", "0123456789abcdef0123456789abcdef-",
        "0123456789abcdef0123456789abcdef-0", "0123456789abcdef0123456789abcdef-01",
        "0123456789abcdef0123456789abcdef-x", "g123456789abcdef0123456789abcdef",
        "0123456789abcdef0123456789abcdef-99999999"}) {
    EXPECT_FALSE(ParseS3Etag(bad)) << bad;
  }
}

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
