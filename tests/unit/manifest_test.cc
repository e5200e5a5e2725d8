#include "manifest/manifest.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace getmfs::manifest {
namespace {

using integrity::Algorithm;

// A signed URL whose query string must never appear in a message.
const std::string kQuery = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=secret";
std::string Url(const std::string& path) {
  return "https://bucket.s3.amazonaws.com/" + path + kQuery;
}

constexpr const char* kMd5 = "5eb63bbbe01eeed093cb22bb8f5acdc3";  // md5("hello world")
constexpr const char* kSha256 =
    "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";  // sha256("hello world")
constexpr const char* kCrc32c = "c99465aa";                              // crc32c("hello world")

Manifest MustParse(const std::string& text, const std::string& name = "urls.txt") {
  auto manifest = ParseManifestText(text, name);
  EXPECT_TRUE(manifest.ok()) << (manifest.ok() ? "" : manifest.error().message);
  if (!manifest.ok()) return {};
  return *manifest;
}

// The error message, checking the kind and that no signature leaked into it.
std::string ErrorOf(const std::string& text, const std::string& name = "urls.txt") {
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

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}
bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// ---- urls.txt: entries ----

TEST(ManifestText, UrlOnlyDerivesPathFromUrl) {
  auto m = MustParse(Url("dir/reads.bam") + "\n");
  ASSERT_EQ(m.entries.size(), 1u);
  const auto& e = m.entries[0];
  EXPECT_EQ(e.url, Url("dir/reads.bam"));
  EXPECT_EQ(e.path, "reads.bam");
  EXPECT_FALSE(e.size.has_value());
  EXPECT_EQ(e.checksum.algorithm, Algorithm::kNone);
  EXPECT_FALSE(e.checksum.known());
  EXPECT_EQ(e.file, "urls.txt");
  EXPECT_EQ(e.line, 1);
  EXPECT_FALSE(e.json);
}

TEST(ManifestText, DerivedPathIsPercentDecoded) {
  auto m = MustParse(Url("dir/my%20reads%2B1.bam"));
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(m.entries[0].path, "my reads+1.bam");
}

TEST(ManifestText, DerivedPathWithEncodedSlashMakesDirectories) {
  auto m = MustParse(
      "https://storage.googleapis.com/download/storage/v1/b/bkt/o/dir%2Ffile.txt"
      "?alt=media&X-Goog-Signature=secret");
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(m.entries[0].path, "dir/file.txt");
}

TEST(ManifestText, UrlEndingInSlashLeavesPathEmpty) {
  auto m = MustParse(Url("dir/") + "\nhttps://example.com\n");
  ASSERT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(m.entries[0].path, "");
  EXPECT_EQ(m.entries[1].path, "");
}

TEST(ManifestText, EntriesWithoutPathsAreNotDuplicates) {
  auto m = MustParse(Url("a/") + "\n" + Url("b/") + "\n");
  EXPECT_EQ(m.entries.size(), 2u);
}

TEST(ManifestText, GivenPathWithDirectories) {
  auto m = MustParse(Url("x") + " sample1/reads/a.bam\n" + Url("y") + " sample1/reads/b.bam\n");
  ASSERT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(m.entries[0].path, "sample1/reads/a.bam");
  EXPECT_EQ(m.entries[1].path, "sample1/reads/b.bam");
  EXPECT_EQ(m.entries[1].line, 2);
}

TEST(ManifestText, CommentsAndBlankLines) {
  std::string text =
      "# a comment\n"
      "\n"
      "   \t\n"
      "   # an indented comment " +
      Url("z") + "\n" + Url("x") + " a.bam # trailing comment md5=nothex\n" + Url("y") +
      " #only-a-comment\n";
  auto m = MustParse(text);
  ASSERT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(m.entries[0].path, "a.bam");
  EXPECT_EQ(m.entries[0].line, 5);
  EXPECT_FALSE(m.entries[0].checksum.known());
  EXPECT_EQ(m.entries[1].path, "y");
  EXPECT_EQ(m.entries[1].line, 6);
}

TEST(ManifestText, HashInsideATokenIsNotAComment) {
  auto m = MustParse("https://example.com/a.txt#frag b#c.txt\n");
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(m.entries[0].url, "https://example.com/a.txt#frag");
  EXPECT_EQ(m.entries[0].path, "b#c.txt");
}

TEST(ManifestText, CrlfLineEndings) {
  auto m = MustParse(Url("x") + " a.bam\r\n" + Url("y") + " b.bam size=5\r\n" + Url("z") + "\r\n");
  ASSERT_EQ(m.entries.size(), 3u);
  EXPECT_EQ(m.entries[0].path, "a.bam");
  EXPECT_EQ(m.entries[1].path, "b.bam");
  EXPECT_EQ(m.entries[1].size, 5u);
  EXPECT_EQ(m.entries[2].url, Url("z"));
  EXPECT_EQ(m.entries[2].path, "z");
}

TEST(ManifestText, TabsAndRunsOfSpaces) {
  auto m = MustParse("\t" + Url("x") + "\t\ta.bam  \t size=7\t\n");
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(m.entries[0].url, Url("x"));
  EXPECT_EQ(m.entries[0].path, "a.bam");
  EXPECT_EQ(m.entries[0].size, 7u);
}

TEST(ManifestText, LastLineWithoutNewline) {
  auto m = MustParse(Url("x") + "\n" + Url("y") + " b");
  ASSERT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(m.entries[1].path, "b");
}

TEST(ManifestText, ByteOrderMarkIsIgnored) {
  auto m = MustParse("\xEF\xBB\xBF" + Url("x") + " a\n");
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(m.entries[0].url, Url("x"));
}

TEST(ManifestText, SecondTokenIsPathUnlessItIsAKnownKey) {
  auto m = MustParse(Url("x") + " size=5\n" +   // a key: no path given
                     Url("y") + " a=b.txt\n" +  // not a known key: a path
                     Url("z") + " sizes=3\n" +  // not a known key: a path
                     Url("w") + " md5=" + kMd5 + "\n");
  ASSERT_EQ(m.entries.size(), 4u);
  EXPECT_EQ(m.entries[0].path, "x");
  EXPECT_EQ(m.entries[0].size, 5u);
  EXPECT_EQ(m.entries[1].path, "a=b.txt");
  EXPECT_EQ(m.entries[2].path, "sizes=3");
  EXPECT_EQ(m.entries[3].path, "w");
  EXPECT_EQ(m.entries[3].checksum.algorithm, Algorithm::kMd5);
}

TEST(ManifestText, Size) {
  auto m = MustParse(Url("a") + " size=0\n" + Url("b") + " b size=18446744073709551615\n");
  ASSERT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(m.entries[0].size, 0u);
  EXPECT_EQ(m.entries[1].size, 18446744073709551615u);
}

TEST(ManifestText, SizeErrors) {
  EXPECT_EQ(ErrorOf("\n\n\n\n" + Url("x") + " a size=12x\n"),
            "urls.txt:5: size \"12x\" is not a number of bytes");
  EXPECT_EQ(ErrorOf(Url("x") + " a size=\n"), "urls.txt:1: size \"\" is not a number of bytes");
  EXPECT_EQ(ErrorOf(Url("x") + " size=-1\n"), "urls.txt:1: size \"-1\" is not a number of bytes");
  EXPECT_EQ(ErrorOf(Url("x") + " size=+1\n"), "urls.txt:1: size \"+1\" is not a number of bytes");
  EXPECT_EQ(ErrorOf(Url("x") + " size=1.5\n"), "urls.txt:1: size \"1.5\" is not a number of bytes");
  EXPECT_EQ(ErrorOf(Url("x") + " size=10MB\n"),
            "urls.txt:1: size \"10MB\" is not a number of bytes");
  EXPECT_EQ(ErrorOf(Url("x") + " size=18446744073709551616\n"),
            "urls.txt:1: size \"18446744073709551616\" is not a number of bytes");
  EXPECT_EQ(ErrorOf(Url("x") + " size=1 size=1\n"), "urls.txt:1: size= given twice");
}

TEST(ManifestText, Md5) {
  auto m = MustParse("\n" + Url("x") + " a md5=" + kMd5 + "\n");
  ASSERT_EQ(m.entries.size(), 1u);
  const auto& c = m.entries[0].checksum;
  EXPECT_EQ(c.algorithm, Algorithm::kMd5);
  EXPECT_EQ(c.value, kMd5);
  EXPECT_EQ(c.source, "manifest urls.txt:2");
}

TEST(ManifestText, Md5IsNormalisedToLowercase) {
  auto m = MustParse(Url("x") + " md5=5EB63BBBE01EEED093CB22BB8F5ACDC3\n");
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(m.entries[0].checksum.value, kMd5);
}

TEST(ManifestText, Sha256AndCrc32c) {
  auto m = MustParse(Url("x") + " a sha256=" + kSha256 + "\n" + Url("y") + " b crc32c=" + kCrc32c +
                     " size=11\n");
  ASSERT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(m.entries[0].checksum.algorithm, Algorithm::kSha256);
  EXPECT_EQ(m.entries[0].checksum.value, kSha256);
  EXPECT_EQ(m.entries[1].checksum.algorithm, Algorithm::kCrc32c);
  EXPECT_EQ(m.entries[1].checksum.value, kCrc32c);
  EXPECT_EQ(m.entries[1].size, 11u);
}

TEST(ManifestText, S3EtagWithPartSize) {
  auto m = MustParse(Url("x") + " a s3etag=" + kMd5 + "-3 s3_part_size=8388608\n" + Url("y") +
                     " b s3etag=" + kMd5 + "\n");
  ASSERT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(m.entries[0].checksum.algorithm, Algorithm::kS3Etag);
  EXPECT_EQ(m.entries[0].checksum.value, std::string(kMd5) + "-3");
  EXPECT_EQ(m.entries[0].checksum.s3_part_size, 8388608u);
  EXPECT_EQ(m.entries[1].checksum.algorithm, Algorithm::kS3Etag);
  EXPECT_EQ(m.entries[1].checksum.value, kMd5);
  EXPECT_EQ(m.entries[1].checksum.s3_part_size, 0u);
}

TEST(ManifestText, PartSizeBeforeEtag) {
  auto m = MustParse(Url("x") + " s3_part_size=5242880 s3etag=" + kMd5 + "-2\n");
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(m.entries[0].path, "x");
  EXPECT_EQ(m.entries[0].checksum.s3_part_size, 5242880u);
}

TEST(ManifestText, ChecksumKeyErrors) {
  std::string md5 = std::string("md5=") + kMd5;
  EXPECT_EQ(ErrorOf(Url("x") + " a " + md5 + " sha256=" + kSha256 + "\n"),
            "urls.txt:1: more than one checksum (md5= and sha256=); give at most one");
  EXPECT_EQ(ErrorOf(Url("x") + " a " + md5 + " " + md5 + "\n"),
            "urls.txt:1: more than one checksum (md5= and md5=); give at most one");
  EXPECT_EQ(ErrorOf(Url("x") + " a " + md5 + " s3_part_size=8388608\n"),
            "urls.txt:1: s3_part_size= needs s3etag=");
  EXPECT_EQ(ErrorOf(Url("x") + " a s3etag=" + kMd5 + "-2 s3_part_size=0\n"),
            "urls.txt:1: s3_part_size \"0\" is not a positive number of bytes");
  EXPECT_EQ(ErrorOf(Url("x") + " a s3etag=" + kMd5 + "-2 s3_part_size=8M\n"),
            "urls.txt:1: s3_part_size \"8M\" is not a positive number of bytes");
  EXPECT_EQ(ErrorOf(Url("x") + " a s3etag=" + kMd5 + "-2 s3_part_size=1 s3_part_size=1\n"),
            "urls.txt:1: s3_part_size= given twice");
}

TEST(ManifestText, MalformedChecksums) {
  std::vector<std::string> options = {"md5=nothex",
                                      "md5=",
                                      "md5=5eb63bbbe01eeed093cb22bb8f5acdc",
                                      "sha256=" + std::string(kMd5),
                                      "crc32c=c99465a",
                                      "crc32c=zz9465aa",
                                      "s3etag=abc-2",
                                      "s3etag=" + std::string(kMd5) + "-x"};
  for (const auto& option : options) {
    std::string message = ErrorOf("\n\n" + Url("x") + " a " + option + "\n");
    EXPECT_TRUE(StartsWith(message, "urls.txt:3: ")) << message;
    EXPECT_GT(message.size(), std::string("urls.txt:3: ").size()) << message;
  }
}

TEST(ManifestText, UnknownKey) {
  EXPECT_EQ(ErrorOf("\n\n\n" + Url("x") + " a sizes=12\n"),
            "urls.txt:4: unknown key \"sizes\" (known: size, md5, crc32c, sha256, s3etag, "
            "s3_part_size)");
  EXPECT_EQ(ErrorOf(Url("x") + " a MD5=" + kMd5 + "\n"),
            "urls.txt:1: unknown key \"MD5\" (known: size, md5, crc32c, sha256, s3etag, "
            "s3_part_size)");
}

TEST(ManifestText, ExtraTokenAfterPath) {
  EXPECT_EQ(ErrorOf(Url("x") + " a b\n"),
            "urls.txt:1: unexpected \"b\" (after URL and PATH only key=value options may follow)");
  EXPECT_EQ(ErrorOf(Url("x") + " size=3 b\n"),
            "urls.txt:1: unexpected \"b\" (after URL and PATH only key=value options may follow)");
}

TEST(ManifestText, NotAnHttpUrl) {
  EXPECT_EQ(ErrorOf("# header\n\n\n\n\n\nftp://x/y\n"),
            "urls.txt:7: \"ftp://x/y\" is not an http(s) URL or a drs:// URI");
  EXPECT_EQ(ErrorOf("s3://bucket/key?X-Amz-Signature=secret\n"),
            "urls.txt:1: \"s3://bucket/key\" is not an http(s) URL or a drs:// URI");
  EXPECT_EQ(ErrorOf("a/b.bam " + Url("x") + "\n"), "urls.txt:1: \"a/b.bam\" is not an http(s) URL or a drs:// URI");
  EXPECT_EQ(ErrorOf("https://" + kQuery + "\n"), "urls.txt:1: \"https://\" is not an http(s) URL or a drs:// URI");
}

TEST(ManifestText, FirstErrorRejectsEverything) {
  auto manifest =
      ParseManifestText(Url("x") + " a\n" + Url("y") + " b size=z\n" + "ftp://q\n", "urls.txt");
  ASSERT_FALSE(manifest.ok());
  EXPECT_EQ(manifest.error().message, "urls.txt:2: size \"z\" is not a number of bytes");
}

TEST(ManifestText, InvalidGivenPaths) {
  EXPECT_EQ(ErrorOf(Url("x") + " /etc/passwd\n"),
            "urls.txt:1: path \"/etc/passwd\" is absolute (must be relative)");
  EXPECT_EQ(ErrorOf("\n" + Url("x") + " a//b\n"),
            "urls.txt:2: path \"a//b\" has an empty component");
  EXPECT_EQ(ErrorOf(Url("x") + " dir/\n"), "urls.txt:1: path \"dir/\" has an empty component");
  EXPECT_EQ(ErrorOf(Url("x") + " ../up\n"), "urls.txt:1: path \"../up\" has a \"..\" component");
  EXPECT_EQ(ErrorOf(Url("x") + " a/./b\n"), "urls.txt:1: path \"a/./b\" has a \".\" component");
  EXPECT_TRUE(StartsWith(ErrorOf(Url("x") + " " + std::string(256, 'n') + "\n"), "urls.txt:1: "));
}

// The path cases of tests/fuzz/corpus/manifest/path-*: each refused, naming its line.
TEST(ManifestText, ControlCharactersInAGivenPath) {
  EXPECT_EQ(ErrorOf("# ok\n" + Url("x") + " bad\x01name\n"),
            "urls.txt:2: path \"bad\\x01name\" contains a control character");
  EXPECT_EQ(ErrorOf(Url("x") + " a\n" + Url("y") + " del\x7f\n"),
            "urls.txt:2: path \"del\\x7f\" contains a control character");
}

TEST(ManifestText, DuplicatesAfterPercentDecoding) {
  EXPECT_EQ(ErrorOf("https://h.example/a%2Fb?sig=secret\nhttps://h.example/z?sig=secret a/b\n"),
            "urls.txt:2: duplicate path \"a/b\" (first on line 1)");
  EXPECT_EQ(ErrorOf("https://h.example/x/a%2Eb?sig=secret\n\nhttps://h.example/y/a.b?sig=secret\n"),
            "urls.txt:3: duplicate path \"a.b\" (first on line 1)");
}

TEST(ManifestJson, PathCasesNameTheirEntry) {
  auto entry = [](const std::string& filepath) {
    return "{\"url\": \"" + Url("a") + "\", \"filepath\": \"" + filepath + "\"}";
  };
  EXPECT_EQ(ErrorOf("[" + entry("ok") + ", " + entry("/b") + "]", "m.json"),
            "m.json: entry 2: path \"/b\" is absolute (must be relative)");
  EXPECT_EQ(ErrorOf("[" + entry("c\\u0001") + "]", "m.json"),
            "m.json: entry 1: path \"c\\x01\" contains a control character");
  EXPECT_EQ(ErrorOf("[" + entry("a//b") + "]", "m.json"), "m.json: entry 1: path \"a//b\" has an empty component");
  EXPECT_EQ(ErrorOf("[" + entry("x/y") + ", {\"url\": \"https://h.example/x%2Fy?sig=secret\"}]", "m.json"),
            "m.json: entry 2: duplicate path \"x/y\" (first in entry 1)");
}

TEST(ManifestText, UnusableDerivedPath) {
  std::string message = ErrorOf(Url("dir/%2e%2e") + "\n");
  EXPECT_TRUE(StartsWith(message,
                         "urls.txt:1: cannot use the end of "
                         "\"https://bucket.s3.amazonaws.com/dir/%2e%2e\" as a file name"))
      << message;
  EXPECT_TRUE(Contains(message, "give a path")) << message;
  message = ErrorOf(Url("a%00b") + "\n");
  EXPECT_TRUE(Contains(message, "NUL")) << message;
  // A path given explicitly makes the URL's name irrelevant.
  auto m = MustParse(Url("dir/%2e%2e") + " fine.txt\n");
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(m.entries[0].path, "fine.txt");
}

TEST(ManifestText, DuplicatePathNamesBothLines) {
  std::string text = "# header\n\n" + Url("1") + " a/b.bam\n" + Url("2") + " a/c.bam\n\n\n\n\n" +
                     Url("3") + " a/b.bam\n";
  EXPECT_EQ(ErrorOf(text), "urls.txt:9: duplicate path \"a/b.bam\" (first on line 3)");
}

TEST(ManifestText, DuplicateDerivedPaths) {
  EXPECT_EQ(ErrorOf("https://one.example.com/x/reads.bam?sig=secret\n"
                    "https://two.example.com/y/reads.bam?sig=secret\n"),
            "urls.txt:2: duplicate path \"reads.bam\" (first on line 1)");
  // A given path may collide with a derived one.
  EXPECT_EQ(ErrorOf(Url("reads.bam") + "\n" + Url("other") + " reads.bam\n"),
            "urls.txt:2: duplicate path \"reads.bam\" (first on line 1)");
}

TEST(ManifestText, FileThatIsAlsoADirectory) {
  EXPECT_EQ(ErrorOf(Url("1") + " a\n" + Url("2") + " a/b\n"),
            "urls.txt:2: path \"a/b\" needs a directory \"a\", which is a file on line 1");
  EXPECT_EQ(ErrorOf(Url("1") + " a/b/c\n" + Url("2") + " a/b\n"),
            "urls.txt:2: path \"a/b\" is a file here but a directory of \"a/b/c\" on line 1");
  EXPECT_EQ(ErrorOf(Url("1") + " x/y/z\n" + Url("2") + " x/y/w\n" + Url("3") + " x\n"),
            "urls.txt:3: path \"x\" is a file here but a directory of \"x/y/z\" on line 1");
}

TEST(ManifestText, SharedDirectoriesAndPrefixesAreFine) {
  auto m = MustParse(Url("1") + " a/b\n" + Url("2") + " a/c\n" + Url("3") + " ab\n" + Url("4") +
                     " a/bc/d\n" + Url("5") + " a.b\n");
  EXPECT_EQ(m.entries.size(), 5u);
}

TEST(ManifestText, EmptyManifest) {
  EXPECT_EQ(ErrorOf(""), "no URLs in urls.txt");
  EXPECT_EQ(ErrorOf("# nothing here\n\n   \n\t# " + Url("x") + "\n", "list.txt"),
            "no URLs in list.txt");
}

TEST(ManifestText, NoSignatureInAnyError) {
  // ErrorOf checks that neither "secret" nor the query string appears.
  std::vector<std::string> bad = {
      "ftp://host/p" + kQuery,
      "http://" + kQuery,
      Url("x") + " /abs",
      Url("%2e"),
      Url("x") + " a unknown=1",
      Url("x") + " a size=q",
      Url("x") + " a md5=q",
      Url("x") + " a\n" + Url("x") + " a",
      Url("x") + " a\n" + Url("y") + " a/b",
      "https://user:secret@host/%2e%2e" + kQuery,
  };
  for (const auto& text : bad) ErrorOf(text);
}

// ---- getm's JSON manifest ----

TEST(ManifestJson, Basic) {
  std::string text = R"(  [
    {"url": ")" + Url("x/reads.bam") +
                     R"(", "filepath": "s1/reads.bam",
     "checksum": ")" +
                     kMd5 + R"(", "checksum-algorithm": "md5"},
    {"url": ")" + Url("x/my%20file.txt") +
                     R"("}
  ])";
  auto m = MustParse(text, "manifest.json");
  ASSERT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(m.entries[0].url, Url("x/reads.bam"));
  EXPECT_EQ(m.entries[0].path, "s1/reads.bam");
  EXPECT_EQ(m.entries[0].checksum.algorithm, Algorithm::kMd5);
  EXPECT_EQ(m.entries[0].checksum.value, kMd5);
  EXPECT_EQ(m.entries[0].checksum.source, "manifest manifest.json: entry 1");
  EXPECT_EQ(m.entries[0].file, "manifest.json");
  EXPECT_EQ(m.entries[0].line, 1);
  EXPECT_TRUE(m.entries[0].json);
  EXPECT_EQ(m.entries[1].path, "my file.txt");
  EXPECT_EQ(m.entries[1].line, 2);
  EXPECT_FALSE(m.entries[1].checksum.known());
  EXPECT_FALSE(m.entries[1].size.has_value());
}

TEST(ManifestJson, NullOrEmptyFilepathIsDerived) {
  auto m = MustParse("[{\"url\": \"" + Url("a.txt") +
                         "\", \"filepath\": null},"
                         " {\"url\": \"" +
                         Url("b.txt") + "\", \"filepath\": \"\"}]",
                     "m.json");
  ASSERT_EQ(m.entries.size(), 2u);
  EXPECT_EQ(m.entries[0].path, "a.txt");
  EXPECT_EQ(m.entries[1].path, "b.txt");
}

TEST(ManifestJson, Algorithms) {
  auto entry = [](const std::string& name, const std::string& algorithm,
                  const std::string& checksum) {
    return "{\"url\": \"" + Url(name) + "\", \"checksum-algorithm\": \"" + algorithm +
           "\", \"checksum\": \"" + checksum + "\"}";
  };
  std::string text = "[" + entry("a", "md5", kMd5) + "," + entry("b", "gs_crc32c", "yZRlqg==") +
                     "," + entry("c", "s3_etag", std::string(kMd5) + "-2") + "," +
                     entry("d", "sha256", kSha256) + "," + entry("e", "crc32c", kCrc32c) + "," +
                     entry("f", "null", "whatever") + "," + "{\"url\": \"" + Url("g") +
                     "\", \"checksum-algorithm\": \"null\"}," + "{\"url\": \"" + Url("h") +
                     "\", \"checksum-algorithm\": null, \"checksum\": null}]";
  auto m = MustParse(text, "m.json");
  ASSERT_EQ(m.entries.size(), 8u);
  EXPECT_EQ(m.entries[0].checksum.algorithm, Algorithm::kMd5);
  EXPECT_EQ(m.entries[1].checksum.algorithm, Algorithm::kGsCrc32c);
  EXPECT_EQ(m.entries[1].checksum.value, kCrc32c);
  EXPECT_EQ(m.entries[2].checksum.algorithm, Algorithm::kS3Etag);
  EXPECT_EQ(m.entries[2].checksum.value, std::string(kMd5) + "-2");
  EXPECT_EQ(m.entries[3].checksum.algorithm, Algorithm::kSha256);
  EXPECT_EQ(m.entries[4].checksum.algorithm, Algorithm::kCrc32c);
  EXPECT_EQ(m.entries[4].checksum.value, kCrc32c);
  EXPECT_EQ(m.entries[5].checksum.algorithm, Algorithm::kNone);
  EXPECT_EQ(m.entries[6].checksum.algorithm, Algorithm::kNone);
  EXPECT_EQ(m.entries[7].checksum.algorithm, Algorithm::kNone);
  EXPECT_EQ(m.entries[3].checksum.source, "manifest m.json: entry 4");
}

TEST(ManifestJson, Size) {
  auto m = MustParse("[{\"url\": \"" + Url("a") +
                         "\", \"size\": 1234},"
                         " {\"url\": \"" +
                         Url("b") +
                         "\", \"size\": \"99\"},"
                         " {\"url\": \"" +
                         Url("c") + "\", \"size\": null}]",
                     "m.json");
  ASSERT_EQ(m.entries.size(), 3u);
  EXPECT_EQ(m.entries[0].size, 1234u);
  EXPECT_EQ(m.entries[1].size, 99u);
  EXPECT_FALSE(m.entries[2].size.has_value());
  EXPECT_EQ(ErrorOf("[{\"url\": \"" + Url("a") + "\", \"size\": -1}]", "m.json"),
            "m.json: entry 1: size -1 is not a number of bytes");
  EXPECT_EQ(ErrorOf("[{\"url\": \"" + Url("a") + "\", \"size\": 1.5}]", "m.json"),
            "m.json: entry 1: size 1.5 is not a number of bytes");
  EXPECT_EQ(ErrorOf("[{\"url\": \"" + Url("a") + "\", \"size\": \"1k\"}]", "m.json"),
            "m.json: entry 1: size \"1k\" is not a number of bytes");
}

TEST(ManifestJson, EntryErrors) {
  std::string ok = "{\"url\": \"" + Url("ok") + "\"},";
  EXPECT_EQ(
      ErrorOf("[" + ok + "{\"url\": \"" + Url("z") + "\"}," + ok.substr(0, ok.size() - 1) + "]",
              "manifest.json"),
      "manifest.json: entry 3: duplicate path \"ok\" (first in entry 1)");
  EXPECT_EQ(ErrorOf("[" + ok + "{\"url\": \"ftp://x/y" + kQuery + "\"}]", "manifest.json"),
            "manifest.json: entry 2: \"ftp://x/y\" is not an http(s) URL or a drs:// URI");
  EXPECT_EQ(ErrorOf("[" + ok + "\"" + Url("z") + "\"]", "manifest.json"),
            "manifest.json: entry 2: expected an object with a \"url\"");
  EXPECT_EQ(ErrorOf("[" + ok + "{\"filepath\": \"x\"}]", "manifest.json"),
            "manifest.json: entry 2: no \"url\"");
  EXPECT_EQ(ErrorOf("[{\"url\": 5}]", "manifest.json"),
            "manifest.json: entry 1: \"url\" must be a string");
  EXPECT_EQ(ErrorOf("[{\"url\": \"" + Url("a") + "\", \"filepath\": 3}]", "manifest.json"),
            "manifest.json: entry 1: \"filepath\" must be a string");
  EXPECT_EQ(ErrorOf("[{\"url\": \"" + Url("a") + "\", \"filepath\": \"../a\"}]", "manifest.json"),
            "manifest.json: entry 1: path \"../a\" has a \"..\" component");
  EXPECT_EQ(ErrorOf("[{\"url\": \"" + Url("a") + "\", \"file_path\": \"a\"}]", "manifest.json"),
            "manifest.json: entry 1: unknown key \"file_path\" (known: url, filepath, checksum, "
            "checksum-algorithm, size)");
}

TEST(ManifestJson, ChecksumErrors) {
  auto with = [](const std::string& members) {
    return "[{\"url\": \"" + Url("a") + "\", " + members + "}]";
  };
  EXPECT_EQ(ErrorOf(with("\"checksum\": \"" + std::string(kMd5) + "\""), "m.json"),
            "m.json: entry 1: \"checksum\" given without \"checksum-algorithm\"");
  EXPECT_EQ(ErrorOf(with("\"checksum-algorithm\": \"md5\""), "m.json"),
            "m.json: entry 1: \"checksum-algorithm\" \"md5\" given without \"checksum\"");
  EXPECT_EQ(ErrorOf(with("\"checksum-algorithm\": \"sha1\", \"checksum\": \"00\""), "m.json"),
            "m.json: entry 1: unknown checksum-algorithm \"sha1\" (known: md5, gs_crc32c, "
            "s3_etag, sha256, crc32c, null)");
  EXPECT_EQ(ErrorOf(with("\"checksum-algorithm\": 5, \"checksum\": \"00\""), "m.json"),
            "m.json: entry 1: \"checksum-algorithm\" must be a string");
  std::string message =
      ErrorOf(with("\"checksum-algorithm\": \"md5\", \"checksum\": \"xyz\""), "m.json");
  EXPECT_TRUE(StartsWith(message, "m.json: entry 1: ")) << message;
  EXPECT_TRUE(Contains(message, "xyz")) << message;
}

TEST(ManifestJson, ParseErrorsGiveBytePosition) {
  EXPECT_TRUE(
      StartsWith(ErrorOf("[1,]", "m.json"), "m.json: invalid JSON at byte 4 (line 1, column 4)"));
  std::string message = ErrorOf("[\n{\"url\": \"https://x/y" + kQuery, "m.json");
  EXPECT_TRUE(StartsWith(message, "m.json: invalid JSON at byte ")) << message;
  EXPECT_TRUE(Contains(message, "(line 2, column ")) << message;
  message = ErrorOf("[{\"url\": \"" + Url("a") + "\"}] trailing", "m.json");
  EXPECT_TRUE(StartsWith(message, "m.json: invalid JSON at byte ")) << message;
}

TEST(ManifestJson, NumberOutOfRangeIsAnError) {
  EXPECT_EQ(ErrorOf("[{\"url\": \"" + Url("a") + "\", \"size\": 1e999}]", "m.json"),
            "m.json: invalid JSON: a number is out of range");
  EXPECT_EQ(ErrorOf("[{\"url\": 4" + std::string(400, '4') + "}]", "m.json"),
            "m.json: invalid JSON: a number is out of range");
}

TEST(ManifestJson, EmptyList) {
  EXPECT_EQ(ErrorOf(" [ ] ", "manifest.json"), "no URLs in manifest.json");
}

TEST(ManifestJson, UrlEndingInSlashLeavesPathEmpty) {
  auto m = MustParse("[{\"url\": \"" + Url("dir/") + "\"}]", "m.json");
  ASSERT_EQ(m.entries.size(), 1u);
  EXPECT_EQ(m.entries[0].path, "");
}

// ---- ValidateRelativePath ----

TEST(ValidateRelativePath, Accepts) {
  for (std::string path :
       {"a", "a/b/c.bam", "a b", ".hidden", "..a", "a..", "...", "a=b", "\xC3\xA9t\xC3\xA9"}) {
    EXPECT_TRUE(ValidateRelativePath(path).ok()) << path;
  }
  EXPECT_TRUE(ValidateRelativePath(std::string(255, 'x')).ok());
  std::string long_path;
  while (long_path.size() < 4096 - 101) long_path += std::string(100, 'x') + "/";
  long_path += std::string(4096 - long_path.size(), 'y');
  ASSERT_EQ(long_path.size(), 4096u);
  EXPECT_TRUE(ValidateRelativePath(long_path).ok());
  EXPECT_FALSE(ValidateRelativePath(long_path + "y").ok());
}

TEST(ValidateRelativePath, Rejects) {
  auto message = [](const std::string& path) {
    auto status = ValidateRelativePath(path);
    EXPECT_FALSE(status.ok()) << path;
    if (status.ok()) return std::string();
    EXPECT_EQ(status.error().kind, ErrorKind::kBadInput);
    return status.error().message;
  };
  EXPECT_EQ(message(""), "path is empty");
  EXPECT_EQ(message("/a"), "path \"/a\" is absolute (must be relative)");
  EXPECT_EQ(message("/"), "path \"/\" is absolute (must be relative)");
  EXPECT_EQ(message("a/"), "path \"a/\" has an empty component");
  EXPECT_EQ(message("a//b"), "path \"a//b\" has an empty component");
  EXPECT_EQ(message("."), "path \".\" has a \".\" component");
  EXPECT_EQ(message(".."), "path \"..\" has a \"..\" component");
  EXPECT_EQ(message("a/./b"), "path \"a/./b\" has a \".\" component");
  EXPECT_EQ(message("a/.."), "path \"a/..\" has a \"..\" component");
  EXPECT_EQ(message(std::string("a\0b", 3)), "path \"a\\x00b\" contains a NUL byte");
  EXPECT_EQ(message("a\nb"), "path \"a\\x0ab\" contains a control character");
  EXPECT_EQ(message("tab\there"), "path \"tab\\x09here\" contains a control character");
  EXPECT_EQ(message("del\x7f"), "path \"del\\x7f\" contains a control character");
  EXPECT_EQ(message("a/" + std::string(256, 'x')).substr(0, 8), "path \"a/");
  EXPECT_TRUE(Contains(message("a/" + std::string(256, 'x')), "longer than 255 bytes"));
  EXPECT_TRUE(Contains(message(std::string(5000, 'x')), "longer than 4096 bytes"));
}

// ---- CheckPaths ----

ManifestEntry Entry(const std::string& path, const std::string& file, int line, bool json = false) {
  ManifestEntry entry;
  entry.url = Url(path);
  entry.path = path;
  entry.file = file;
  entry.line = line;
  entry.json = json;
  return entry;
}

TEST(CheckPaths, AcceptsDistinctPathsAndSkipsUnknownOnes) {
  EXPECT_TRUE(CheckPaths({}).ok());
  EXPECT_TRUE(
      CheckPaths({Entry("a/b", "u", 1), Entry("", "u", 2), Entry("", "u", 3), Entry("a/c", "u", 4)})
          .ok());
}

TEST(CheckPaths, NamesEntriesFromOtherFiles) {
  auto status = CheckPaths({Entry("a", "one.txt", 2), Entry("a", "two.txt", 5)});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kBadInput);
  EXPECT_EQ(status.error().message, "two.txt:5: duplicate path \"a\" (first at one.txt:2)");
  status = CheckPaths({Entry("a", "m.json", 2, true), Entry("a/b", "urls.txt", 5)});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message,
            "urls.txt:5: path \"a/b\" needs a directory \"a\", which is a file at m.json: entry 2");
}

TEST(EntryLocation, Formats) {
  EXPECT_EQ(EntryLocation(Entry("a", "urls.txt", 7)), "urls.txt:7");
  EXPECT_EQ(EntryLocation(Entry("a", "m.json", 3, true)), "m.json: entry 3");
}

// ---- ParseManifestFile ----

class ManifestFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "manifest_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const auto& f : files_) std::remove(f.c_str());
    rmdir(dir_.c_str());
  }
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << content;
    files_.push_back(path);
    return path;
  }
  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(ManifestFile, ReadsTextManifest) {
  std::string path = Write("urls.txt", "# list\n" + Url("a.bam") + " x/a.bam size=3\n");
  auto m = ParseManifestFile(path);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->entries.size(), 1u);
  EXPECT_EQ(m->entries[0].path, "x/a.bam");
  EXPECT_EQ(m->entries[0].file, path);
  EXPECT_EQ(m->entries[0].line, 2);
}

TEST_F(ManifestFile, ReadsJsonManifest) {
  std::string path = Write("m.json", "\n[{\"url\": \"" + Url("a.bam") + "\"}]\n");
  auto m = ParseManifestFile(path);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->entries.size(), 1u);
  EXPECT_TRUE(m->entries[0].json);
}

TEST_F(ManifestFile, ErrorsNameTheFile) {
  std::string path = Write("bad.txt", Url("a") + " a size=x\n");
  auto m = ParseManifestFile(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message, path + ":1: size \"x\" is not a number of bytes");
}

TEST_F(ManifestFile, MissingFileOrDirectory) {
  auto m = ParseManifestFile(dir_ + "/nope.txt");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::kBadInput);
  EXPECT_TRUE(Contains(m.error().message, "nope.txt")) << m.error().message;
  EXPECT_TRUE(Contains(m.error().message, "No such file")) << m.error().message;
  m = ParseManifestFile(dir_);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::kBadInput);
}

TEST_F(ManifestFile, UnreadableFileIsAnIoError) {
  if (geteuid() == 0) GTEST_SKIP() << "root can read any file";
  std::string path = Write("secret.txt", Url("a") + "\n");
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  auto m = ParseManifestFile(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::kIo);
}

TEST_F(ManifestFile, EmptyFile) {
  std::string path = Write("empty.txt", "");
  auto m = ParseManifestFile(path);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message, "no URLs in " + path);
}

}  // namespace
}  // namespace getmfs::manifest
