// Inside a memory-limited cgroup (a container's, a unit's MemoryMax=) the default cache is an
// eighth of that limit, not of the machine's memory: a mount started in a 256 MiB cgroup
// gets a 32 MiB cache, reads the right bytes and ends cleanly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/mount_fixture.h"

namespace getmfs::testing {
namespace {

namespace stdfs = std::filesystem;

// A memory cgroup of our own with a limit (v2, or v1's memory controller); "" when this
// machine does not let us make one.
std::string MakeLimitedCgroup(std::uint64_t limit, std::string* procs) {
  std::string name = "getmfs-test-" + std::to_string(getpid());
  struct Layout { std::string parent, limit_file; };
  for (const Layout& layout : {Layout{"/sys/fs/cgroup", "memory.max"}, Layout{"/sys/fs/cgroup/memory", "memory.limit_in_bytes"}}) {
    std::error_code ec;
    if (!stdfs::exists(layout.parent + "/cgroup.procs", ec)) continue;
    if (layout.limit_file == "memory.max" && !stdfs::exists(layout.parent + "/cgroup.subtree_control", ec)) continue;
    std::string dir = layout.parent + "/" + name;
    stdfs::create_directory(dir, ec);
    std::ofstream(dir + "/" + layout.limit_file) << limit;
    std::ifstream check(dir + "/" + layout.limit_file);
    std::uint64_t read = 0;
    if (check >> read && read == limit) {
      *procs = dir + "/cgroup.procs";
      return dir;
    }
    stdfs::remove(dir, ec);
  }
  return "";
}

std::optional<std::uint64_t> CacheCapacity(const nlohmann::json& j) {
  if (j.is_object()) {
    if (j.contains("cache") && j["cache"].is_object() && j["cache"].contains("capacity")) {
      return j["cache"]["capacity"].get<std::uint64_t>();
    }
    for (const auto& [key, value] : j.items()) {
      if (auto found = CacheCapacity(value)) return found;
    }
  }
  return std::nullopt;
}

class MemoryLimitMountTest : public MountTest {};

TEST_F(MemoryLimitMountTest, TheDefaultCacheFitsTheCgroupsLimit) {
  std::string procs;
  std::string cgroup = MakeLimitedCgroup(256 * kMiB, &procs);
  if (cgroup.empty()) GTEST_SKIP() << "cannot create a memory-limited cgroup here";
  WriteFile(manifest_, origin_->Url("/big.bin") + "\n");
  std::string script = "echo $$ > '" + procs + "' && exec \"$@\"";
  RunResult r = RunProgram({"bash", "-c", script, "bash", kBinary, "mount", manifest_, mp_, "--log-file", log_},
                           kEnv, 60);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (pid_t pid = DaemonPid(); pid > 0) daemons_.push_back(pid);
  RunResult status = RunProgram({kBinary, "status", mp_, "--json"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto capacity = CacheCapacity(nlohmann::json::parse(status.out, nullptr, false));
  ASSERT_TRUE(capacity.has_value()) << status.out;
  EXPECT_EQ(*capacity, 32 * kMiB) << "an eighth of the cgroup's 256 MiB";
  EXPECT_EQ(FileMd5Hex(Mp("big.bin")), FileMd5Hex(Src("big.bin")));
  RunResult unmount = RunProgram({kBinary, "unmount", mp_}, {}, 30);
  EXPECT_EQ(unmount.exit_code, 0) << unmount.err;
  ExpectDaemonsEnded();
  daemons_.clear();
  for (int i = 0; i < 100 && rmdir(cgroup.c_str()) != 0; ++i) usleep(50000);   // its processes are gone
  EXPECT_FALSE(stdfs::exists(cgroup)) << "the test cgroup still has processes: " << cgroup;
}

}  // namespace
}  // namespace getmfs::testing
