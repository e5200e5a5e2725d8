// What goes wrong around the engine rather than at the origin: workers that cannot run,
// a process with more than 1024 files open, a file that fails over and over.
#include <fcntl.h>
#include <getm/getm.hpp>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fs/file_system.h"
#include "manifest/manifest.h"
#include "support/origin.h"
#include "support/temp_dir.h"
#include "util/log.h"

namespace getmfs::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint64_t kMiB = 1 << 20;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class ReliabilityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new TempDir("getmfs-reliability-");
    WriteRandomFile(data_->Path("data.bin"), 3 * kMiB + 11, 51);
    origin_ = Origin::Start(data_->path()).release();
  }
  static void TearDownTestSuite() {
    delete origin_;
    delete data_;
  }
  void SetUp() override { origin_->Reset(); }

  std::unique_ptr<fs::FileSystem> Mount(const std::string& line, fs::MountOptions options) {
    auto manifest = manifest::ParseManifestText(line, "urls.txt");
    EXPECT_TRUE(manifest) << manifest.error().message;
    options.block_size = 64 << 10;
    options.cache_size = 8 * kMiB;
    auto filesystem = fs::FileSystem::Create(*manifest, options);
    EXPECT_TRUE(filesystem) << filesystem.error().message;
    return std::move(*filesystem);
  }

  // One 128 KiB read at `offset` through a fresh handle: its errno (0 when it worked).
  static int ReadErrno(fs::FileSystem& filesystem, std::uint64_t offset) {
    auto attr = filesystem.Lookup(fs::FileSystem::kRootIno, "data.bin");
    if (!attr) return ErrnoOf(attr.error());
    auto opened = filesystem.Open(attr->ino, O_RDONLY);
    if (!opened) return ErrnoOf(opened.error());
    auto data = filesystem.Read(attr->ino, opened->handle, offset, 128 << 10);
    int error = data ? 0 : ErrnoOf(data.error());
    if (data) filesystem.ReleaseRead(*data);
    filesystem.Release(opened->handle);
    return error;
  }

  static TempDir* data_;
  static Origin* origin_;
};

TempDir* ReliabilityTest::data_ = nullptr;
Origin* ReliabilityTest::origin_ = nullptr;

TEST_F(ReliabilityTest, WorkersThatKeepDyingFailEveryLaterReadAtOnce) {
  fs::MountOptions options;
  options.worker_path = "/bin/false";   // starts, and exits at once, every time
  options.timeout_seconds = 20;
  auto filesystem = Mount(origin_->Url("/data.bin") + " data.bin size=" + std::to_string(3 * kMiB + 11) + "\n", options);
  ASSERT_TRUE(filesystem);
  ASSERT_TRUE(filesystem->Start());
  auto start = Clock::now();
  EXPECT_EQ(ReadErrno(*filesystem, 0), EIO);
  EXPECT_LT(SecondsSince(start), 10) << "the first read waited for workers that keep dying";
  // The pool has given up: reads after that must not wait out their deadline (20 s).
  for (std::uint64_t offset : {kMiB, 2 * kMiB}) {
    start = Clock::now();
    EXPECT_EQ(ReadErrno(*filesystem, offset), EIO);
    EXPECT_LT(SecondsSince(start), 2) << "a read queued after the pool gave up waited";
  }
  filesystem->Stop();
}

TEST_F(ReliabilityTest, ManyOpenFilesInTheCallerDoNotBreakTheLibrary) {
  // The library runs in other people's programs, which may hold more than FD_SETSIZE (1024)
  // descriptors: the engine's sockets then have high numbers.
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  rlimit raised = limit;
  raised.rlim_cur = std::min<rlim_t>(limit.rlim_max, 4096);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &raised), 0);
  if (raised.rlim_cur < 1200) GTEST_SKIP() << "cannot open enough files here";
  std::vector<int> held;
  while (held.empty() || held.back() < 1100) held.push_back(open("/dev/null", O_RDONLY | O_CLOEXEC));
  for (auto concurrency : {std::optional<int>(), std::optional<int>(1), std::optional<int>(4)}) {
    getm::Options o;
    o.chunk_size = 256 << 10;
    o.concurrency = concurrency;
    o.timeout_seconds = 20;
    getm::Reader reader = getm::urlopen(origin_->Url("/data.bin"), o);
    std::string got;
    for (getm::Chunk c = reader.read(1 << 20); c.size() > 0; c = reader.read(1 << 20)) {
      got.append(reinterpret_cast<const char*>(c.data()), c.size());
    }
    EXPECT_EQ(got, ReadFile(data_->Path("data.bin")));
  }
  for (int fd : held) close(fd);
  setrlimit(RLIMIT_NOFILE, &limit);
}

TEST_F(ReliabilityTest, AFileThatFailsOverAndOverIsLoggedOnce) {
  TempDir logs("getmfs-reliability-log-");
  ASSERT_TRUE(SetLogSink(LogSink::kFile, logs.Path("log.txt")));
  origin_->Configure({{"path", "/data.bin"}, {"faults", {{{"type", "status"}, {"code", 403}}}}});
  fs::MountOptions options;
  options.timeout_seconds = 5;
  auto filesystem = Mount(origin_->Url("/data.bin") + " data.bin size=" + std::to_string(3 * kMiB + 11) + "\n", options);
  ASSERT_TRUE(filesystem);
  ASSERT_TRUE(filesystem->Start());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(ReadErrno(*filesystem, 0), EACCES);
  filesystem->Stop();
  SetLogSink(LogSink::kStderr);
  std::ifstream in(logs.Path("log.txt"));
  int lines = 0;
  for (std::string line; std::getline(in, line);) lines += line.find("data.bin") != std::string::npos;
  EXPECT_GE(lines, 1) << "the failure was not logged at all";
  EXPECT_LE(lines, 2) << "one failing file flooded the log";
}

}  // namespace
}  // namespace getmfs::testing
