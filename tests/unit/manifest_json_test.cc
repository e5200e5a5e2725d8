// getm's JSON manifests (entries, checksums, sizes, and the errors, each naming its entry),
// ValidateRelativePath, CheckPaths over entries from several files, and ParseManifestFile
// reading either format from disk.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "manifest/manifest.h"
#include "unit/manifest_test_helpers.h"

namespace getmfs::manifest {
namespace {

using integrity::Algorithm;

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

// The path cases of tests/fuzz/corpus/manifest/path-* in a JSON manifest: each refused, naming
// its entry.
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
