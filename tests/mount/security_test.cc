// What a mount shows to whom: without allow_other only the mounting user sees the files;
// no signed URL's query string appears in the log (at any verbosity), the status, the
// xattrs, or the command lines of the daemon and its workers.
#include <gtest/gtest.h>

#include "support/mount_fixture.h"

namespace getmfs::testing {
namespace {

class SecurityTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    chmod(tmp_.path().c_str(), 0755);   // so that only the mount itself can refuse others
  }
  // As user nobody.
  static RunResult AsNobody(const std::string& command) {
    return RunProgram({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bash", "-c", command}, {}, 30);
  }
};

TEST_F(SecurityTest, WithoutAllowOtherOnlyTheMountingUserSeesTheFiles) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/tree/a.bin") + "\n"));
  RunResult other = AsNobody("cat '" + Mp("a.bin") + "' > /dev/null");
  EXPECT_NE(other.exit_code, 0) << "another user read the file";
  EXPECT_TRUE(Contains(other.err, "Permission denied")) << other.err;
  EXPECT_EQ(PythonRead(Mp("a.bin")).md5, FileMd5Hex(Src("tree/a.bin")));   // the owner still can
}

TEST_F(SecurityTest, WithAllowOtherEveryoneReads) {
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/tree/a.bin") + "\n", {"-o", "allow_other"}));
  RunResult other = AsNobody("md5sum '" + Mp("a.bin") + "'");
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(Fields(other.out).at(0), FileMd5Hex(Src("tree/a.bin")));
}

TEST_F(SecurityTest, NoQueryStringAnywhere) {
  std::string url = origin_->Presign("/s3.bin", 600);
  std::string signature = url.substr(url.find("X-Amz-Signature=") + 16);
  ASSERT_GE(signature.size(), 16u);
  origin_->Configure({{"path", "/gone.bin"}, {"faults", {{{"type", "status"}, {"code", 403}}}}});
  ASSERT_NO_FATAL_FAILURE(Mount(url + " s3.bin\n" + origin_->Presign("/gone.bin", 600) + " gone.bin\n",
                                {"-vv", "--workers", "2"}));
  EXPECT_TRUE(PythonRead(Mp("s3.bin")).ok);
  EXPECT_FALSE(PythonRead(Mp("gone.bin")).ok);
  std::string seen;
  seen += RunProgram({kBinary, "status", mp_}).out + RunProgram({kBinary, "status", mp_, "--json"}).out;
  seen += RunProgram({"getfattr", "-d", "-m", "-", Mp("s3.bin"), Mp("gone.bin"), mp_}).out;
  pid_t daemon = DaemonPid();
  for (const std::string& pid : Lines(RunProgram({"pgrep", "-P", std::to_string(daemon)}).out)) {
    seen += ReadFile("/proc/" + pid + "/cmdline");
  }
  seen += ReadFile("/proc/" + std::to_string(daemon) + "/cmdline");
  ASSERT_EQ(RunProgram({kBinary, "unmount", mp_}, {}, 30).exit_code, 0);
  seen += Log();
  EXPECT_TRUE(Contains(Log(), "gone.bin")) << "the log says nothing: the check proves nothing";
  EXPECT_FALSE(Contains(seen, signature)) << "a signature was shown";
  EXPECT_FALSE(Contains(seen, "X-Amz-Signature=")) << "a query string was shown";
}

}  // namespace
}  // namespace getmfs::testing
