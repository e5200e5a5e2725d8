// The container entrypoint (packaging/docker/entrypoint.sh), run directly as CI has no
// container engine: it mounts, runs the command, unmounts and exits with the command's
// status; as a sidecar (no command) it unmounts on SIGTERM; it says what is missing.
#include <gtest/gtest.h>
#include <signal.h>

#include "support/mount_fixture.h"

namespace getmfs::testing {
namespace {

const std::string kEntrypoint = std::string(GETMFS_SOURCE_DIR) + "/packaging/docker/entrypoint.sh";

class EntrypointTest : public MountTest {
 protected:
  std::vector<std::string> Env() {
    return {"GETMFS_WORKER=" GETMFS_BINARY, "GETMFS=" + kBinary, "GETMFS_MANIFEST=" + manifest_,
            "GETMFS_MOUNTPOINT=" + mp_, "GETMFS_OPTIONS=--log-file " + log_};
  }
};

TEST_F(EntrypointTest, RunsTheCommandOnTheMountAndUnmountsAfter) {
  WriteFile(manifest_, origin_->Url("/tree/a.bin") + "\n");
  RunResult r = RunProgram({"sh", kEntrypoint, "md5sum", Mp("a.bin")}, Env(), 60);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 32), FileMd5Hex(Src("tree/a.bin"))) << r.out;
  EXPECT_FALSE(IsMounted(mp_));
  EXPECT_EQ(MountDaemonsLeft(), "");
  r = RunProgram({"sh", kEntrypoint, "sh", "-c", "test -e '" + Mp("a.bin") + "' && exit 7"}, Env(), 60);
  EXPECT_EQ(r.exit_code, 7) << "the command's status: " << r.err;
  EXPECT_FALSE(IsMounted(mp_));
}

TEST_F(EntrypointTest, AsASidecarItUnmountsOnSigterm) {
  WriteFile(manifest_, origin_->Url("/tree/a.bin") + "\n");
  auto sidecar = ChildProcess::Start({"sh", kEntrypoint}, Env());
  ASSERT_TRUE(WaitFor([&] { return IsMounted(mp_); }, 30)) << sidecar->Stderr();
  EXPECT_EQ(FileMd5Hex(Mp("a.bin")), FileMd5Hex(Src("tree/a.bin")));
  sidecar->Signal(SIGTERM);
  EXPECT_EQ(sidecar->Wait(30), 0) << sidecar->Stderr();
  EXPECT_FALSE(IsMounted(mp_));
  EXPECT_EQ(MountDaemonsLeft(), "");
}

TEST_F(EntrypointTest, SaysWhatIsMissing) {
  RunResult r = RunProgram({"sh", kEntrypoint, "true"}, {"GETMFS=" + kBinary}, 30);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Contains(r.err, "set GETMFS_MANIFEST")) << r.err;
  WriteFile(manifest_, "not a url\n");
  r = RunProgram({"sh", kEntrypoint, "true"}, Env(), 30);
  EXPECT_EQ(r.exit_code, 2) << "getmfs mount's own status for a bad manifest: " << r.err;
  EXPECT_TRUE(Contains(r.err, "urls.txt:1")) << r.err;
  EXPECT_FALSE(IsMounted(mp_));
}

}  // namespace
}  // namespace getmfs::testing
