// `getmfs get` destinations that are not plain files: `-` (standard output), devices, FIFOs,
// /dev/stdout and symlinks. Regular files (through any symlinks) are replaced by a rename
// after verification; everything else is written in place, and a mismatch there exits 3 and
// says that the bytes already written are not verified.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "support/origin.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace getmfs::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kDataSize = 3 * kMiB + 4321;   // a few 1 MiB chunks and a partial one
constexpr std::uint64_t kCorruptOffset = 2 * kMiB + 9;
const char* const kGetmfs = GETMFS_BINARY;

std::string Describe(const RunResult& r) {
  std::string out = r.out.size() > 2000 ? "(" + std::to_string(r.out.size()) + " bytes)" : r.out;
  return "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") + "\n--- stdout:\n" + out +
         "\n--- stderr:\n" + r.err;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// lstat's file type bits of path (0 if it does not exist).
mode_t TypeOf(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & S_IFMT;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& entry : stdfs::recursive_directory_iterator(dir)) out.push_back(entry.path().lexically_relative(dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

class GetDestination : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_dir_ = new TempDir("getdest-data-");
    WriteRandomFile(data_dir_->Path("data.bin"), kDataSize, 21);
    WriteRandomFile(data_dir_->Path("small.bin"), 1000, 22);
    data_ = new std::string(ReadFile(data_dir_->Path("data.bin")));
    small_ = new std::string(ReadFile(data_dir_->Path("small.bin")));
    origin_ = Origin::Start(data_dir_->path()).release();
  }
  static void TearDownTestSuite() {
    delete origin_;
    delete data_;
    delete small_;
    delete data_dir_;
    origin_ = nullptr;
  }
  void SetUp() override {
    origin_->Reset();
    origin_->Configure(json::array({{{"path", "/data.bin"}, {"emulate", "s3"}}, {{"path", "/small.bin"}, {"emulate", "s3"}}}));
    out_ = std::make_unique<TempDir>("getdest-out-");
  }

  // getmfs get ARGS, run in the output directory (so that a file named "-" would show).
  RunResult Get(const std::vector<std::string>& args, double timeout = 60) const {
    std::vector<std::string> argv = {"/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", out_->path(), kGetmfs, "get"};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const char* extra : {"--workers", "2", "--chunk-size", "1048576"}) argv.push_back(extra);
    return RunProgram(argv, {std::string("GETMFS_WORKER=") + kGetmfs}, timeout);
  }

  std::string Out(const std::string& relative) const { return out_->Path(relative); }
  static std::string Url(const std::string& path) { return origin_->Url(path); }

  // Everything in the output directory (no .NAME.getmfs-XXXXXX, no file named "-").
  void ExpectOutputHolds(std::vector<std::string> want) const {
    std::sort(want.begin(), want.end());
    EXPECT_EQ(ListDir(out_->path()), want) << "unexpected files in the output directory";
  }

  static void CorruptOrigin(const std::string& path, std::uint64_t offset) {
    origin_->Configure({{"path", path}, {"emulate", "s3"}, {"faults", {{{"type", "corrupt"}, {"offset", offset}}}}});
  }
  static std::string Corrupted(std::string data) {
    data[kCorruptOffset] = static_cast<char>(data[kCorruptOffset] ^ 0xFF);
    return data;
  }

  static TempDir* data_dir_;
  static Origin* origin_;
  static std::string* data_;
  static std::string* small_;
  std::unique_ptr<TempDir> out_;
};

TempDir* GetDestination::data_dir_ = nullptr;
Origin* GetDestination::origin_ = nullptr;
std::string* GetDestination::data_ = nullptr;
std::string* GetDestination::small_ = nullptr;

TEST_F(GetDestination, DashIsStandardOutput) {
  for (const std::vector<std::string>& dest : {std::vector<std::string>{"-"}, std::vector<std::string>{"-O", "-"}}) {
    for (const char* concurrency : {"16", "1", "none"}) {
      SCOPED_TRACE(dest.back() + " --concurrency " + concurrency);
      std::vector<std::string> args = {Url("/data.bin")};
      args.insert(args.end(), dest.begin(), dest.end());
      args.insert(args.end(), {"--concurrency", concurrency});
      RunResult r = Get(args);
      ASSERT_EQ(r.exit_code, 0) << Describe(r);
      EXPECT_TRUE(r.out == *data_) << "stdout has " << r.out.size() << " bytes, not the object's " << data_->size();
      EXPECT_FALSE(Contains(r.err, "saved")) << r.err;
      EXPECT_TRUE(Contains(r.err, "verified s3_etag")) << r.err;
    }
  }
  ExpectOutputHolds({});
}

TEST_F(GetDestination, ProgressNeverGoesToStandardOutput) {
  RunResult r = Get({Url("/data.bin"), "-", "--progress"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(r.out == *data_) << "stdout has " << r.out.size() << " bytes, not the object's " << data_->size();
  EXPECT_TRUE(Contains(r.err, "100%")) << "no progress line on stderr: " << r.err;
}

TEST_F(GetDestination, DotSlashDashIsAFile) {
  RunResult r = Get({Url("/small.bin"), "-O", "./-"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(ReadFile(Out("-")) == *small_) << "./- does not hold the object";
  ExpectOutputHolds({"-"});
}

TEST_F(GetDestination, DevStdoutIsWrittenInPlace) {
  // First through a symlink of our own to the same descriptor: if that fails, /dev/stdout
  // itself would be replaced, so it is not tried.
  ASSERT_EQ(symlink("/proc/self/fd/1", Out("my-stdout").c_str()), 0);
  RunResult r = Get({Url("/data.bin"), "-O", Out("my-stdout")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ASSERT_TRUE(r.out == *data_) << "stdout has " << r.out.size() << " bytes";
  ASSERT_EQ(TypeOf(Out("my-stdout")), S_IFLNK);
  ExpectOutputHolds({"my-stdout"});

  ASSERT_EQ(TypeOf("/dev/stdout"), S_IFLNK) << "this machine's /dev/stdout is not a symlink";
  r = Get({Url("/data.bin"), "-O", "/dev/stdout"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(r.out == *data_) << "stdout has " << r.out.size() << " bytes";
  EXPECT_EQ(TypeOf("/dev/stdout"), S_IFLNK) << "/dev/stdout was replaced";
  EXPECT_FALSE(Contains(r.err, "saved")) << r.err;
}

// /dev/stdout means the descriptor even when it is a regular file: `>>` appends to it. (Through
// a symlink of our own to /proc/self/fd/1, like /dev/stdout: were it replaced, /dev/stdout
// would be.)
TEST_F(GetDestination, DevStdoutRedirectedToAFileIsWrittenThroughTheDescriptor) {
  WriteFile(Out("log"), "before\n");
  ASSERT_EQ(symlink("/proc/self/fd/1", Out("my-stdout").c_str()), 0);
  RunResult r = RunProgram({"/bin/sh", "-c", "exec \"$@\" >> \"$0\"", Out("log"), kGetmfs, "get", Url("/small.bin"),
                            "-O", Out("my-stdout"), "--workers", "2"},
                           {std::string("GETMFS_WORKER=") + kGetmfs});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(ReadFile(Out("log")) == "before\n" + *small_) << "log has " << ReadFile(Out("log")).size() << " bytes";
  EXPECT_EQ(TypeOf(Out("my-stdout")), S_IFLNK);
  EXPECT_FALSE(Contains(r.err, "saved")) << r.err;
  ExpectOutputHolds({"log", "my-stdout"});
}

// A socket cannot be opened by name: /dev/stdout naming one (a systemd service's stdout) is
// written through the descriptor. python3 gives getmfs a socket for stdout and copies what
// comes out of it to its own stdout.
TEST_F(GetDestination, DevStdoutThatIsASocket) {
  const char* script = R"(
import socket, subprocess, sys
a, b = socket.socketpair()
p = subprocess.Popen(sys.argv[1:], stdout=b)
b.close()
while True:
    chunk = a.recv(1 << 20)
    if not chunk:
        break
    sys.stdout.buffer.write(chunk)
sys.stdout.flush()
sys.exit(p.wait())
)";
  // Through a symlink of our own to /proc/self/fd/1 first, like /dev/stdout (see above).
  ASSERT_EQ(symlink("/proc/self/fd/1", Out("my-stdout").c_str()), 0);
  for (const std::string& dest : {Out("my-stdout"), std::string("/dev/stdout")}) {
    SCOPED_TRACE(dest);
    RunResult r = RunProgram({"python3", "-c", script, kGetmfs, "get", Url("/data.bin"), "-O", dest, "--workers", "2"},
                             {std::string("GETMFS_WORKER=") + kGetmfs});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    ASSERT_TRUE(r.out == *data_) << "the socket got " << r.out.size() << " bytes";
    ASSERT_EQ(TypeOf(dest), S_IFLNK) << dest << " was replaced";
  }
  ExpectOutputHolds({"my-stdout"});
}

TEST_F(GetDestination, DevNullIsWrittenInPlace) {
  // First a character device of our own (1,3 like /dev/null), when we may make one: if that
  // is replaced, /dev/null would be, so it is not tried.
  if (mknod(Out("null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
    RunResult r = Get({Url("/data.bin"), "-O", Out("null")});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    ASSERT_EQ(TypeOf(Out("null")), S_IFCHR) << "the device node was replaced";
    ExpectOutputHolds({"null"});
  } else {
    ASSERT_TRUE(errno == EPERM || errno == EACCES) << "mknod: " << std::strerror(errno);
  }
  RunResult r = Get({Url("/data.bin"), "-O", "/dev/null"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "");
  struct stat st {};
  ASSERT_EQ(lstat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "/dev/null is no longer a character device";
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_FALSE(Contains(r.err, "saved")) << r.err;
}

TEST_F(GetDestination, FifoIsWrittenInPlace) {
  ASSERT_EQ(mkfifo(Out("fifo").c_str(), 0600), 0);
  auto reader = ChildProcess::Start({"cat", Out("fifo")});
  RunResult r = Get({Url("/data.bin"), "-O", Out("fifo")});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  auto code = reader->Wait(20);
  ASSERT_TRUE(code.has_value()) << "the FIFO's reader never got an end of file";
  EXPECT_EQ(*code, 0);
  // The reader's output is collected by a thread: wait for all of it.
  for (int i = 0; i < 200 && reader->PendingStdout().size() < data_->size(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(reader->PendingStdout() == *data_) << "the reader got " << reader->PendingStdout().size() << " bytes";
  EXPECT_EQ(TypeOf(Out("fifo")), S_IFIFO) << "the FIFO was replaced";
  ExpectOutputHolds({"fifo"});
}

TEST_F(GetDestination, SymlinkToAFileReplacesTheTarget) {
  stdfs::create_directory(Out("sub"));
  WriteFile(Out("sub/target.bin"), "old contents");
  ASSERT_EQ(symlink("sub/target.bin", Out("link").c_str()), 0);
  ASSERT_EQ(symlink("link", Out("link2").c_str()), 0);   // a chain: link2 -> link -> sub/target.bin
  RunResult r = Get({Url("/small.bin"), "-O", Out("link2")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "saved")) << r.err;
  EXPECT_EQ(TypeOf(Out("link")), S_IFLNK);
  EXPECT_EQ(TypeOf(Out("link2")), S_IFLNK);
  EXPECT_EQ(stdfs::read_symlink(Out("link")), "sub/target.bin");
  EXPECT_EQ(TypeOf(Out("sub/target.bin")), S_IFREG);
  EXPECT_TRUE(ReadFile(Out("sub/target.bin")) == *small_) << "the target does not hold the object";
  ExpectOutputHolds({"link", "link2", "sub", "sub/target.bin"});
}

TEST_F(GetDestination, SymlinkToAMissingFileCreatesIt) {
  stdfs::create_directory(Out("sub"));
  ASSERT_EQ(symlink("sub/new.bin", Out("link").c_str()), 0);
  ASSERT_EQ(symlink(Out("sub/abs.bin").c_str(), Out("abs-link").c_str()), 0);
  RunResult r = Get({Url("/small.bin"), "-O", Out("link")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = Get({Url("/data.bin"), Out("abs-link")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(TypeOf(Out("link")), S_IFLNK);
  EXPECT_EQ(TypeOf(Out("abs-link")), S_IFLNK);
  EXPECT_TRUE(ReadFile(Out("sub/new.bin")) == *small_) << "the new target does not hold the object";
  EXPECT_TRUE(ReadFile(Out("sub/abs.bin")) == *data_) << "the new target does not hold the object";
  ExpectOutputHolds({"abs-link", "link", "sub", "sub/abs.bin", "sub/new.bin"});
}

TEST_F(GetDestination, MismatchOnStandardOutputSaysTheBytesAreUnverified) {
  CorruptOrigin("/data.bin", kCorruptOffset);
  for (const char* concurrency : {"16", "1"}) {
    SCOPED_TRACE(concurrency);
    RunResult r = Get({Url("/data.bin"), "-", "--concurrency", concurrency});
    EXPECT_EQ(r.exit_code, 3) << Describe(r);
    // Every byte reached the reader before the verdict.
    EXPECT_TRUE(r.out == Corrupted(*data_)) << "stdout has " << r.out.size() << " bytes";
    EXPECT_TRUE(Contains(r.err, "already written to standard output")) << r.err;
    EXPECT_TRUE(Contains(r.err, "NOT verified")) << r.err;
  }
  ExpectOutputHolds({});
}

TEST_F(GetDestination, MismatchLeavesASymlinkedFileUntouched) {
  CorruptOrigin("/small.bin", 10);
  stdfs::create_directory(Out("sub"));
  WriteFile(Out("sub/target.bin"), "old contents");
  ASSERT_EQ(symlink("sub/target.bin", Out("link").c_str()), 0);
  RunResult r = Get({Url("/small.bin"), "-O", Out("link")});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_FALSE(Contains(r.err, "already written")) << r.err;
  EXPECT_EQ(TypeOf(Out("link")), S_IFLNK);
  EXPECT_TRUE(ReadFile(Out("sub/target.bin")) == "old contents") << "the target was changed";
  ExpectOutputHolds({"link", "sub", "sub/target.bin"});
}

TEST_F(GetDestination, ManifestRefusesStandardOutput) {
  WriteFile(Out("urls.txt"), Url("/small.bin") + "\n" + Url("/data.bin") + "\n");
  RunResult r = Get({"--manifest", Out("urls.txt"), "-O", "-"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "cannot be standard output")) << r.err;
  EXPECT_EQ(r.out, "");
  // As a positional argument "-" is taken for the URL, which --manifest excludes.
  r = Get({"--manifest", Out("urls.txt"), "-"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(origin_->Stats().value("requests", -1), 0);
  ExpectOutputHolds({"urls.txt"});
}

}  // namespace
}  // namespace getmfs::testing
