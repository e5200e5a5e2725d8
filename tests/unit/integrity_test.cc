// Known-answer and property tests for src/integrity's algorithms: digests, CRC32C, gs_crc32c
// and S3 ETags.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "integrity/checksum.h"
#include "integrity/digest.h"
#include "integrity/encoding.h"
#include "integrity/s3_etag.h"
#include "unit/integrity_test_helpers.h"

namespace getmfs::integrity {
namespace {

std::string Pattern(std::size_t n, unsigned seed = 0) {
  std::string data(n, '\0');
  for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<char>(i * 7 + 3 + seed);
  return data;
}

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

}  // namespace
}  // namespace getmfs::integrity
