// Manifests in the urls.txt format: entries and the paths derived from their URLs, comments,
// whitespace, line endings and byte order marks, sizes and checksums, and the errors, each
// naming its line and never a URL's signature.
#include "manifest/manifest.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/manifest_test_helpers.h"

namespace getmfs::manifest {
namespace {

using integrity::Algorithm;

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

}  // namespace
}  // namespace getmfs::manifest
