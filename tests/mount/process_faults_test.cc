// Process faults around a real mount: unmount with read-ahead in flight, SIGTERM and SIGINT,
// kill -9 of the daemon while a reader is blocked in the kernel, mounting again over the dead
// mount it leaves if the kernel keeps it, and kill -9 of a worker during a read. Every daemon
// must end as the test says (the fixture checks each one's exit status).
#include <gtest/gtest.h>

#include "support/mount_fixture.h"

namespace getmfs::testing {
namespace {

// Lines of the kernel log about a crash of one of these processes.
std::string CrashesInKernelLog(const std::vector<pid_t>& pids) {
  RunResult dmesg = RunProgram({"dmesg"}, {}, 10);
  std::string found;
  for (const auto& line : Lines(dmesg.out)) {
    if (!Contains(line, "segfault") && !Contains(line, "general protection") && !Contains(line, "trap")) continue;
    for (pid_t pid : pids) {
      if (Contains(line, "[" + std::to_string(pid) + "]")) found += line + "\n";
    }
  }
  return found;
}

class ProcessFaultsTest : public MountTest {
 protected:
  // A slow 32 MiB file: read-ahead is always in flight.
  std::string SlowManifest() {
    origin_->Configure({{"path", "/huge.bin"}, {"faults", {{{"type", "bandwidth"}, {"bytes_per_second", 2 << 20}}}}});
    return origin_->Url("/huge.bin") + " huge.bin size=" + std::to_string(32 * kMiB) + "\n";
  }
};

TEST_F(ProcessFaultsTest, FiveUnmountsWithReadAheadInFlightEndEveryDaemonCleanly) {
  std::vector<pid_t> daemons;
  for (int cycle = 0; cycle < 5; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    ASSERT_NO_FATAL_FAILURE(Mount(SlowManifest()));
    daemons.push_back(DaemonPid());
    RunResult cat = Bash("timeout 1 cat '" + Mp("huge.bin") + "' > /dev/null", 30);
    EXPECT_EQ(cat.exit_code, 124) << "cat should still have been reading";
    RunResult unmount = RunProgram({kBinary, "unmount", mp_}, {}, 30);
    ASSERT_EQ(unmount.exit_code, 0) << unmount.err;
    ExpectDaemonsEnded();
  }
  EXPECT_EQ(CrashesInKernelLog(daemons), "");
}

TEST_F(ProcessFaultsTest, SigtermAndSigintUnmountCleanly) {
  for (int sig : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(strsignal(sig));
    ASSERT_NO_FATAL_FAILURE(Mount(SlowManifest()));
    auto reader = ChildProcess::Start({"bash", "-c", "cat '" + Mp("huge.bin") + "' > /dev/null"});
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ASSERT_EQ(kill(DaemonPid(), sig), 0);
    EXPECT_TRUE(WaitFor([&] { return !IsMounted(mp_); }, 15)) << "the mount is still there";
    reader->Stop(1);
    ExpectDaemonsEnded();
  }
}

TEST_F(ProcessFaultsTest, KillingTheDaemonDuringAReadLeavesNoDeadMountpoint) {
  for (int attempt = 0; attempt < 6; ++attempt) {
    SCOPED_TRACE("attempt " + std::to_string(attempt));
    ASSERT_NO_FATAL_FAILURE(Mount(SlowManifest()));
    auto reader = ChildProcess::Start({"bash", "-c", "cat '" + Mp("huge.bin") + "' > /dev/null"});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    pid_t pid = DaemonPid();
    Killed(pid);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    bool unmounted = WaitFor([&] { return !IsMounted(mp_); }, 15);
    EXPECT_TRUE(unmounted) << "a dead mount was left at " << mp_ << "\n"
                           << Bash("ps -eo pid,ppid,stat,wchan:30,args | grep -E 'getmfs|fusermount|cat' | grep -v grep; "
                                   "grep fuse /proc/mounts").out;
    if (!unmounted) Bash("fusermount3 -uz '" + mp_ + "'");   // so one failure does not become six
    EXPECT_NE(reader->Wait(15).value_or(0), 0) << "the reader of a killed daemon ended cleanly";
    RunResult ls = RunProgram({"ls", mp_}, {}, 10);
    EXPECT_FALSE(Contains(ls.err, "Transport endpoint is not connected")) << ls.err;
    ExpectDaemonsEnded();
  }
  // And it mounts again.
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/tree/a.bin") + "\n"));
  EXPECT_EQ(PythonRead(Mp("a.bin")).md5, FileMd5Hex(Src("tree/a.bin")));
}

TEST_F(ProcessFaultsTest, MountingOverADeadMountCleansItFirst) {
  // A dead mount: the daemon, its auto_unmount helper and its guard all killed.
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/tree/a.bin") + "\n"));
  pid_t pid = DaemonPid();
  Killed(pid);
  // Only this mount's helpers: ctest runs other mounts beside this test.
  RunResult helpers = Bash("pgrep -f 'fusermount3.*" + mp_ + "'; pgrep -f '__guard__.*" + mp_ + "'");
  for (const auto& line : Lines(helpers.out)) kill(static_cast<pid_t>(std::atol(line.c_str())), SIGKILL);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ExpectDaemonsEnded();
  if (!IsMounted(mp_)) GTEST_SKIP() << "the kernel removed the dead mount by itself";
  RunResult dead = RunProgram({"ls", mp_}, {}, 10);
  ASSERT_TRUE(Contains(dead.err, "Transport endpoint is not connected")) << dead.err;
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/tree/a.bin") + "\n"));
  EXPECT_EQ(PythonRead(Mp("a.bin")).md5, FileMd5Hex(Src("tree/a.bin")));
}

// The daemon mounts before it starts its workers (libfuse forks fusermount3, which must
// happen while the daemon has one thread): a worker that cannot start undoes the mount.
TEST_F(ProcessFaultsTest, WorkersThatCannotStartFailTheMountAndLeaveNothingBehind) {
  WriteFile(manifest_, origin_->Url("/tree/a.bin") + "\n");
  std::string missing = tmp_.Path("no-such-worker");
  RunResult r = RunProgram({kBinary, "mount", manifest_, mp_, "--log-file", log_}, {"GETMFS_WORKER=" + missing}, 60);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(Contains(r.err, "cannot start a worker process (" + missing + ")")) << r.err;
  EXPECT_TRUE(Contains(r.err, "set GETMFS_WORKER")) << r.err;
  EXPECT_FALSE(IsMounted(mp_));
  EXPECT_EQ(MountDaemonsLeft(), "") << "a daemon is still running";
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/tree/a.bin") + "\n"));
  EXPECT_EQ(PythonRead(Mp("a.bin")).md5, FileMd5Hex(Src("tree/a.bin")));
}

TEST_F(ProcessFaultsTest, KillingAWorkerDuringAReadLosesNothing) {
  origin_->Configure({{"path", "/huge.bin"}, {"faults", {{{"type", "bandwidth"}, {"bytes_per_second", 16 << 20}}}}});
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/huge.bin") + " huge.bin size=" + std::to_string(32 * kMiB) + "\n",
                                {"--workers", "2"}));
  auto reader = ChildProcess::Start({"md5sum", Mp("huge.bin")});
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  RunResult workers = RunProgram({"pgrep", "-P", std::to_string(DaemonPid()), "-f", "__worker__"});
  auto pids = Lines(workers.out);
  ASSERT_FALSE(pids.empty()) << "no worker found";
  ASSERT_EQ(kill(static_cast<pid_t>(std::atol(pids[0].c_str())), SIGKILL), 0);
  auto line = reader->ReadLine(120);
  ASSERT_TRUE(line.has_value()) << reader->Stderr();
  EXPECT_EQ(Fields(*line).at(0), FileMd5Hex(Src("huge.bin")));
  EXPECT_EQ(reader->Wait(10).value_or(-1), 0);
}

}  // namespace
}  // namespace getmfs::testing
