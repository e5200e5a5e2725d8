// The cgroup memory limit that sizes the default cache: v2, v1, hybrid, nested limits, and
// no limit at all, read from a fake /sys/fs/cgroup.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/temp_dir.h"
#include "util/memory_limit.h"

namespace getmfs {
namespace {

namespace stdfs = std::filesystem;

class CgroupMemoryLimitTest : public ::testing::Test {
 protected:
  void Write(const std::string& relative, const std::string& text) {
    stdfs::create_directories(stdfs::path(root_ + relative).parent_path());
    std::ofstream(root_ + relative) << text;
  }
  testing::TempDir dir_{"cgroup-root-"};
  std::string root_ = dir_.path();
};

TEST_F(CgroupMemoryLimitTest, AContainersV2LimitIsRead) {
  Write("/memory.max", "268435456\n");   // a container with cgroupns: its own cgroup is "/"
  EXPECT_EQ(CgroupMemoryLimit("0::/\n", root_), 268435456u);
}

TEST_F(CgroupMemoryLimitTest, TheSmallestOnThePathWins) {
  Write("/memory.max", "max\n");
  Write("/kubepods/memory.max", "4294967296\n");
  Write("/kubepods/pod1/memory.max", "1073741824\n");
  Write("/kubepods/pod1/c1/memory.max", "max\n");
  EXPECT_EQ(CgroupMemoryLimit("0::/kubepods/pod1/c1\n", root_), 1073741824u);
  EXPECT_EQ(CgroupMemoryLimit("0::/kubepods\n", root_), 4294967296u);
}

TEST_F(CgroupMemoryLimitTest, NoLimitIsNone) {
  Write("/system.slice/getmfs.service/memory.max", "max\n");
  EXPECT_EQ(CgroupMemoryLimit("0::/system.slice/getmfs.service\n", root_), std::nullopt);
  EXPECT_EQ(CgroupMemoryLimit("0::/nowhere\n", root_), std::nullopt);
  EXPECT_EQ(CgroupMemoryLimit("", root_), std::nullopt);
  EXPECT_EQ(CgroupMemoryLimit("garbage\n0::relative\n", root_), std::nullopt);
}

TEST_F(CgroupMemoryLimitTest, V1AndHybridLayouts) {
  Write("/memory/process_api/abc/memory.limit_in_bytes", "536870912\n");
  Write("/memory/memory.limit_in_bytes", "9223372036854771712\n");   // v1's "no limit"
  std::string v1 = "9:name=systemd:/\n4:memory:/process_api/abc\n0::/\n";
  EXPECT_EQ(CgroupMemoryLimit(v1, root_), 536870912u);
  EXPECT_EQ(CgroupMemoryLimit("4:cpu,memory:/\n", root_), std::nullopt);
  Write("/unified/user.slice/memory.max", "100000000\n");
  EXPECT_EQ(CgroupMemoryLimit("4:memory:/process_api/abc\n0::/user.slice\n", root_), 100000000u);
}

TEST(UsableMemory, IsPositiveAndAtMostTheMachines) {
  std::uint64_t usable = UsableMemory();
  EXPECT_GT(usable, 0u);
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  EXPECT_LE(usable, static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page));
}

}  // namespace
}  // namespace getmfs
