// What FUSE needs, said before anything is mounted: /dev/fuse missing (a container run without
// --device /dev/fuse) or not the device, allow_other without user_allow_other for a user.
// And `getmfs mount MANIFEST /dev/fd/N`: a privileged helper (here a Python script, as a CSI
// driver would be) opens /dev/fuse, mounts it with fd=N and starts getmfs with the
// descriptor; getmfs serves it without mounting anything itself, and ends when the helper's
// mount is unmounted. A descriptor that is not /dev/fuse is refused with what to do.
#include <gtest/gtest.h>

#include <regex>

#include "support/mount_fixture.h"

namespace getmfs::testing {
namespace {

// Opens /dev/fuse, mounts it on argv[2] with fd=N, runs getmfs mount argv[1] /dev/fd/N
// (the rest of argv after), and exits with its status.
const char* const kHelper = R"(
import ctypes, os, subprocess, sys
manifest, mountpoint, getmfs = sys.argv[1], sys.argv[2], sys.argv[3]
fd = os.open("/dev/fuse", os.O_RDWR)
libc = ctypes.CDLL(None, use_errno=True)
MS_RDONLY, MS_NOSUID, MS_NODEV = 1, 2, 4
data = "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other" % fd
if libc.mount(b"getmfs", mountpoint.encode(), b"fuse.getmfs", MS_RDONLY | MS_NOSUID | MS_NODEV, data.encode()) != 0:
    sys.exit("mount: " + os.strerror(ctypes.get_errno()))
rc = subprocess.run([getmfs, "mount", manifest, "/dev/fd/%d" % fd] + sys.argv[4:], pass_fds=(fd,)).returncode
sys.exit(rc)
)";

class FuseAccessTest : public MountTest {};

TEST_F(FuseAccessTest, AMountMadeByAHelperIsServedThroughItsDescriptor) {
  WriteFile(manifest_, origin_->Url("/tree/a.bin") + "\n" + origin_->Url("/big.bin") + "\n");
  RunResult r = RunProgram({"python3", "-c", kHelper, manifest_, mp_, kBinary, "--log-file", log_}, kEnv, 60);
  ASSERT_EQ(r.exit_code, 0) << r.err << Log();
  ASSERT_TRUE(IsMounted(mp_));
  if (pid_t pid = DaemonPid(); pid > 0) daemons_.push_back(pid);
  EXPECT_EQ(FileMd5Hex(Mp("a.bin")), FileMd5Hex(Src("tree/a.bin")));
  EXPECT_EQ(FileMd5Hex(Mp("big.bin")), FileMd5Hex(Src("big.bin")));
  EXPECT_EQ(Xattr(Mp("big.bin"), "user.getmfs.verified").value_or("?"), "unverified");
  EXPECT_EQ(RunProgram({"pgrep", "-f", "__guard__.*/dev/fd"}).out, "") << "no guard for a mount that is not ours";
  // Whoever mounted it unmounts it; the daemon then ends cleanly (the fixture checks).
  RunResult unmount = RunProgram({kBinary, "unmount", mp_}, {}, 30);
  EXPECT_EQ(unmount.exit_code, 0) << unmount.err;
  EXPECT_FALSE(IsMounted(mp_));
}

TEST_F(FuseAccessTest, ADescriptorThatIsNotFuseIsRefused) {
  WriteFile(manifest_, origin_->Url("/tree/a.bin") + "\n");
  RunResult r = RunProgram({"bash", "-c", "exec 7</dev/null; exec \"$0\" mount \"$1\" /dev/fd/7", kBinary, manifest_}, kEnv, 30);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(Contains(r.err, "/dev/fd/7 is open but is not /dev/fuse")) << r.err;
  r = RunProgram({kBinary, "mount", manifest_, "/dev/fd/987"}, kEnv, 30);   // a number nothing has open
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(Contains(r.err, "/dev/fd/987 is not an open descriptor")) << r.err;
  EXPECT_TRUE(Contains(r.err, "fd=987")) << r.err;
  r = RunProgram({kBinary, "mount", manifest_, "/dev/fd/1"}, kEnv, 30);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(Contains(r.err, "pass /dev/fuse as 3 or above")) << r.err;
}

TEST_F(FuseAccessTest, WithoutDevFuseTheMessageSaysWhatToDo) {
  WriteFile(manifest_, origin_->Url("/tree/a.bin") + "\n");
  // A mount namespace of its own whose /dev has no fuse (as a container without --device).
  RunResult r = RunProgram({"unshare", "-m", "sh", "-c", "mount -t tmpfs none /dev && exec \"$0\" mount \"$1\" \"$2\"",
                            kBinary, manifest_, mp_}, kEnv, 30);
  if (Contains(r.err, "unshare failed")) GTEST_SKIP() << "no mount namespaces here: " << r.err;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(Contains(r.err, "/dev/fuse is missing")) << r.err;
  EXPECT_TRUE(Contains(r.err, "--device /dev/fuse --cap-add SYS_ADMIN")) << r.err;
  r = RunProgram({"unshare", "-m", "sh", "-c", "mount --bind /dev/null /dev/fuse && exec \"$0\" mount \"$1\" \"$2\"",
                  kBinary, manifest_, mp_}, kEnv, 30);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(Contains(r.err, "/dev/fuse is not the FUSE device")) << r.err;
  EXPECT_FALSE(IsMounted(mp_));
}

TEST_F(FuseAccessTest, AllowOtherAsAUserNeedsUserAllowOther) {
  std::string conf = ReadFile("/etc/fuse.conf");
  if (std::regex_search(conf, std::regex(R"((^|\n)[ \t]*user_allow_other[ \t]*(\n|$))"))) {
    GTEST_SKIP() << "/etc/fuse.conf has user_allow_other here";
  }
  WriteFile(manifest_, origin_->Url("/tree/a.bin") + "\n");
  RunResult r = RunProgram({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", kBinary, "mount", manifest_, mp_,
                            "-o", "ro,allow_other"}, kEnv, 30);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(Contains(r.err, "-o allow_other needs the line user_allow_other in /etc/fuse.conf")) << r.err;
  EXPECT_FALSE(IsMounted(mp_));
}

}  // namespace
}  // namespace getmfs::testing
