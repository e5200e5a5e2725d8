// The FUSE mount's life through its commands: `getmfs mount` refusing a bad manifest or a
// missing mountpoint, `getmfs unmount` (busy, lazy, reusing the mountpoint) and a killed
// daemon's mount removed automatically, and `getmfs status` in text and JSON.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "support/mount_fixture.h"

namespace getmfs::testing {
namespace {

// ---------------------------------------------------------------------------------------------
// Mount failures

TEST_F(MountTest, BadManifestNamesFileAndLineAndMountsNothing) {
  WriteFile(manifest_, origin_->Url("/big.bin") + "\n" + origin_->Url("/gcs.bin") + " gcs.bin colour=blue\n");
  RunResult r = MountCommand({}, 10);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, manifest_ + ":2")) << r.err;
  EXPECT_TRUE(Contains(r.err, "colour")) << r.err;
  EXPECT_FALSE(IsMounted(mp_));
  // A duplicate PATH names both lines.
  WriteFile(manifest_, origin_->Url("/big.bin") + " x.bin\n# comment\n" + origin_->Url("/gcs.bin") + " x.bin\n");
  r = MountCommand({}, 10);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "3")) << r.err;
  EXPECT_TRUE(Contains(r.err, "1")) << r.err;
  EXPECT_TRUE(Contains(r.err, "x.bin")) << r.err;
  EXPECT_FALSE(IsMounted(mp_));
  // A malformed checksum.
  WriteFile(manifest_, origin_->Url("/big.bin") + " md5=xyz\n");
  r = MountCommand({}, 10);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, manifest_ + ":1")) << r.err;
  EXPECT_FALSE(IsMounted(mp_));
  RunResult ls = RunProgram({"ls", "-A", mp_});
  EXPECT_EQ(ls.out, "");
}

TEST_F(MountTest, MissingMountpointFailsWithAClearMessage) {
  WriteFile(manifest_, origin_->Url("/big.bin") + "\n");
  std::string missing = tmp_.Path("does-not-exist");
  RunResult r = RunProgram({kBinary, "mount", manifest_, missing, "--log-file", log_}, kEnv, 30);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, missing)) << r.err;
  EXPECT_TRUE(Contains(r.err, "not a directory") || Contains(r.err, "does not exist") ||
              Contains(r.err, "No such file"))
      << r.err;
  EXPECT_FALSE(IsMounted(missing));
  // A missing manifest, too.
  r = RunProgram({kBinary, "mount", tmp_.Path("nope.txt"), mp_}, kEnv, 30);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.err, "nope.txt")) << r.err;
  EXPECT_FALSE(IsMounted(mp_));
}

// ---------------------------------------------------------------------------------------------
// Unmounting

TEST_F(MountTest, UnmountIsRefusedWhileBusyAndLazyDetaches) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/big.bin") + "\n"));
  pid_t pid = DaemonPid();
  ASSERT_GT(pid, 1);
  auto holder = ChildProcess::Start(
      {"bash", "-c", "exec 3<'" + Mp("big.bin") + "' || exit 1; echo OPEN; read line; md5sum <&3"});
  ASSERT_EQ(holder->ReadLine(30).value_or("(none)"), "OPEN") << holder->Stderr();
  RunResult busy = RunProgram({kBinary, "unmount", mp_}, {}, 30);
  EXPECT_NE(busy.exit_code, 0);
  EXPECT_TRUE(Contains(busy.err, "busy")) << busy.err;
  EXPECT_TRUE(IsMounted(mp_));
  RunResult lazy = RunProgram({kBinary, "unmount", "--lazy", mp_}, {}, 30);
  EXPECT_EQ(lazy.exit_code, 0) << lazy.err;
  EXPECT_FALSE(IsMounted(mp_));
  // The open file still reads the right bytes; the daemon exits once it is closed.
  ASSERT_TRUE(holder->WriteStdin("go\n"));
  auto line = holder->ReadLine(60);
  EXPECT_EQ(Fields(line.value_or("")).size() >= 1 ? Fields(*line)[0] : "", FileMd5Hex(Src("big.bin")));
  EXPECT_EQ(holder->Wait(10).value_or(-100), 0);
  EXPECT_TRUE(WaitFor([&] { return !ProcessRunning(pid); }, 10)) << "the daemon did not exit after the lazy unmount";
}

TEST_F(MountTest, KilledDaemonIsUnmountedAutomatically) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/big.bin") + "\n"));
  pid_t pid = DaemonPid();
  ASSERT_GT(pid, 1);
  PyRead r = PythonRead(Mp("big.bin"));
  ASSERT_TRUE(r.ok) << r.raw;
  Killed(pid);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  EXPECT_TRUE(WaitFor([&] { return !IsMounted(mp_); }, 15)) << "auto_unmount did not remove the mount";
  RunResult ls = RunProgram({"ls", mp_}, {}, 10);
  EXPECT_FALSE(Contains(ls.err, "Transport endpoint is not connected")) << ls.err;
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(ls.out, "");
}

TEST_F(MountTest, UnmountWaitsForTheDaemonAndTheMountpointIsReusable) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/tree/a.bin") + "\n"));
  pid_t pid = DaemonPid();
  RunResult r = RunProgram({kBinary, "unmount", mp_}, {}, 30);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(IsMounted(mp_));
  EXPECT_FALSE(ProcessRunning(pid)) << "the daemon is still running after unmount";
  // The same mountpoint again, right away.
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/tree/d.bin") + "\n"));
  EXPECT_EQ(PythonRead(Mp("d.bin")).md5, FileMd5Hex(Src("tree/d.bin")));
  RunResult not_mounted = RunProgram({kBinary, "unmount", tmp_.path()}, {}, 30);
  EXPECT_NE(not_mounted.exit_code, 0);
}

// ---------------------------------------------------------------------------------------------
// Status

TEST_F(MountTest, StatusListsEveryFileAndJsonParses) {
  origin_->Configure({{"path", "/s3.bin"}, {"emulate", "s3"}});
  std::string manifest = origin_->Url("/s3.bin") + "\n" + origin_->Url("/tree/a.bin") + " t/a.bin\n" +
                         origin_->Url("/tree/sub/b.bin") + " t/sub/b.bin size=300000\n";
  ASSERT_NO_FATAL_FAILURE(Mount(manifest));
  PyRead r = PythonRead(Mp("s3.bin"));
  ASSERT_TRUE(r.ok) << r.raw;
  RunResult text = RunProgram({kBinary, "status", mp_});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  std::map<std::string, std::vector<std::string>> rows;
  for (const auto& line : Lines(text.out)) {
    auto f = Fields(line);
    if (!f.empty()) rows[f[0]] = f;
  }
  ASSERT_TRUE(rows.count("s3.bin")) << text.out;
  ASSERT_TRUE(rows.count("t/a.bin")) << text.out;
  ASSERT_TRUE(rows.count("t/sub/b.bin")) << text.out;
  EXPECT_TRUE(Contains(text.out, "verified")) << text.out;
  RunResult json_run = RunProgram({kBinary, "status", "--json", mp_});
  ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
  auto json = nlohmann::json::parse(json_run.out, nullptr, false);
  ASSERT_FALSE(json.is_discarded()) << json_run.out;
  ASSERT_EQ(json["files"].size(), 3u);
  std::map<std::string, nlohmann::json> files;
  for (const auto& f : json["files"]) files[f["path"].get<std::string>()] = f;
  EXPECT_EQ(files["s3.bin"]["state"], "verified");
  EXPECT_EQ(files["s3.bin"]["size"], 3 * kMiB + 7);
  EXPECT_GE(files["s3.bin"]["bytes_fetched"].get<std::uint64_t>(), 3 * kMiB + 7);
  EXPECT_EQ(files["t/sub/b.bin"]["size"], 300000);
  EXPECT_EQ(files["t/sub/b.bin"]["bytes_fetched"], 0);
  EXPECT_NE(files["t/sub/b.bin"]["state"], "verified");
  EXPECT_EQ(json["pid"].get<int>(), DaemonPid());
  EXPECT_EQ(json["totals"]["files"], 3);
  EXPECT_FALSE(Contains(json_run.out, "X-Amz"));
  RunResult none = RunProgram({kBinary, "status", tmp_.path()});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_TRUE(Contains(none.err, "not a getmfs mount")) << none.err;
}

}  // namespace
}  // namespace getmfs::testing
