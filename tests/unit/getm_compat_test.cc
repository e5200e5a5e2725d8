// getm's drop-in pieces: where a JSON manifest's filepath puts a file (getm's resolve_target)
// and the failure lines getm's callers parse (Cromwell's DRS localizer's two regexes).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <string>

#include "cli/getm_messages.h"
#include "cli/getm_target.h"
#include "support/temp_dir.h"

namespace getmfs::cli {
namespace {

namespace stdfs = std::filesystem;

class GetmTarget : public ::testing::Test {
 protected:
  testing::TempDir tmp_{"getm-target-"};
  std::string dir_ = tmp_.path();
};

TEST_F(GetmTarget, AnAbsolutePathIsKeptAndItsDirectoriesAreCreated) {
  auto target = ResolveGetmTarget(dir_ + "/cromwell_root/a/b.bam", "", "ignored.bin");
  ASSERT_TRUE(target) << target.error().message;
  EXPECT_EQ(*target, dir_ + "/cromwell_root/a/b.bam");
  EXPECT_TRUE(stdfs::is_directory(dir_ + "/cromwell_root/a"));
  EXPECT_FALSE(stdfs::exists(*target));
}

TEST_F(GetmTarget, ARelativePathIsTakenFromTheBase) {
  auto target = ResolveGetmTarget("x/./y/../z.bin", dir_, "u.bin");
  ASSERT_TRUE(target) << target.error().message;
  EXPECT_EQ(*target, dir_ + "/x/z.bin");
  EXPECT_TRUE(stdfs::is_directory(dir_ + "/x"));
}

TEST_F(GetmTarget, ADirectoryOrATrailingSlashGetsTheUrlsName) {
  stdfs::create_directories(dir_ + "/existing");
  auto into_existing = ResolveGetmTarget(dir_ + "/existing", "", "u.bin");
  ASSERT_TRUE(into_existing) << into_existing.error().message;
  EXPECT_EQ(*into_existing, dir_ + "/existing/u.bin");
  auto into_new = ResolveGetmTarget("new/sub/", dir_, "u.bin");
  ASSERT_TRUE(into_new) << into_new.error().message;
  EXPECT_EQ(*into_new, dir_ + "/new/sub/u.bin");
  EXPECT_TRUE(stdfs::is_directory(dir_ + "/new/sub"));
}

TEST_F(GetmTarget, TildeIsTheHomeDirectory) {
  const char* old_home = getenv("HOME");
  std::string saved = old_home ? old_home : "";
  setenv("HOME", dir_.c_str(), 1);
  auto file = ResolveGetmTarget("~/data/f.bin", "/elsewhere", "u.bin");
  auto home = ResolveGetmTarget("~", "", "u.bin");
  auto root = ResolveGetmTarget("~root/f.bin", "", "u.bin");
  auto nobody = ResolveGetmTarget("~no-such-user-here/f.bin", "", "u.bin");
  if (old_home) setenv("HOME", saved.c_str(), 1); else unsetenv("HOME");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(*file, dir_ + "/data/f.bin");
  ASSERT_TRUE(home) << home.error().message;
  EXPECT_EQ(*home, dir_ + "/u.bin");
  ASSERT_TRUE(root) << root.error().message;
  EXPECT_EQ(stdfs::path(*root).filename(), "f.bin");
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().kind, ErrorKind::kBadInput);
  EXPECT_NE(nobody.error().message.find("no-such-user-here"), std::string::npos) << nobody.error().message;
}

TEST_F(GetmTarget, ADirectoryWithoutAUsableNameIsAnError) {
  for (const std::string name : {"", "..", "a/b"}) {
    auto target = ResolveGetmTarget(dir_ + "/", "", name);
    ASSERT_FALSE(target) << name;
    EXPECT_EQ(target.error().kind, ErrorKind::kBadInput);
    EXPECT_NE(target.error().message.find("give the file's path"), std::string::npos) << target.error().message;
  }
}

TEST_F(GetmTarget, ADirectoryThatCannotBeCreatedIsAnIoError) {
  std::string file = dir_ + "/a-file";
  ASSERT_EQ(std::system(("touch " + file).c_str()), 0);
  auto target = ResolveGetmTarget(file + "/under/x.bin", "", "u.bin");
  ASSERT_FALSE(target);
  EXPECT_EQ(target.error().kind, ErrorKind::kIo);
}

// Cromwell joins stderr's lines without a separator before matching.
std::string Joined(std::string lines) {
  std::erase(lines, '\n');
  return lines;
}

const std::regex kCromwellChecksum(R"(.*AssertionError: Checksum failed!.*)");
const std::regex kCromwellStatus(R"(ERROR:getm\.cli.*"status_code":\s*(\d+).*)");
const std::regex kCromwellStatusOlder(R"(ERROR:getm\.cli.*, *"status_code": (\d+).*)");

TEST(GetmMessages, AnHttpFailureCarriesItsStatusAsGetmPrintsIt) {
  Error refused{ErrorKind::kForbidden, "https://b.s3.amazonaws.com/k: access refused (HTTP 403): \"caf\xc3\xa9\"", 403};
  std::string lines = GetmFailureLines(refused, "https://b.s3.amazonaws.com/k");
  EXPECT_EQ(lines,
            "ERROR:getm.cli:{\"message\": \"url innaccessable\", \"text\": \"https://b.s3.amazonaws.com/k: access refused "
            "(HTTP 403): \\\"caf\\u00e9\\\"\", \"url\": \"https://b.s3.amazonaws.com/k\", \"status_code\": 403}\n");
  for (const std::regex* re : {&kCromwellStatus, &kCromwellStatusOlder}) {
    std::smatch m;
    std::string joined = Joined(lines);
    ASSERT_TRUE(std::regex_match(joined, m, *re));
    EXPECT_EQ(m[1], "403");
  }
  EXPECT_FALSE(std::regex_match(Joined(lines), kCromwellChecksum));
}

TEST(GetmMessages, AMismatchEndsInGetmsAssertionError) {
  Error mismatch{ErrorKind::kIntegrity, "a.bin: checksum mismatch: md5 expected 00, got 11"};
  std::string lines = GetmFailureLines(mismatch, "https://h/a.bin");
  EXPECT_TRUE(lines.ends_with("\nAssertionError: Checksum failed!\n")) << lines;
  EXPECT_TRUE(lines.starts_with("ERROR:getm.cli:{\"message\": \"Download failed!\", \"url\": \"https://h/a.bin\"}\n")) << lines;
  EXPECT_TRUE(std::regex_match(Joined(lines), kCromwellChecksum));
  EXPECT_FALSE(std::regex_match(Joined(lines), kCromwellStatus));
}

TEST(GetmMessages, AFailureWithoutAStatusHasNone) {
  Error down{ErrorKind::kNetwork, "h: connection refused"};
  std::string lines = GetmFailureLines(down, "http://h/x");
  EXPECT_EQ(lines, "ERROR:getm.cli:{\"message\": \"Download failed!\", \"text\": \"h: connection refused\", \"url\": "
                   "\"http://h/x\"}\n");
  EXPECT_FALSE(std::regex_match(Joined(lines), kCromwellStatus));
  EXPECT_FALSE(std::regex_match(Joined(lines), kCromwellChecksum));
}

}  // namespace
}  // namespace getmfs::cli
