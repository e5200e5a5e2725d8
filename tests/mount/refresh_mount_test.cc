// Signed URLs that expire under a real mount, set up from the command line: with
// --refresh-command (or -o refresh_command=) a reader of a slow file outlives its URL and
// gets verified bytes; without one the read fails with EKEYEXPIRED, which the log and the
// status explain; the status shows when each URL expires.
#include <gtest/gtest.h>

#include <cerrno>

#include "support/mount_fixture.h"

namespace getmfs::testing {
namespace {

class RefreshMountTest : public MountTest {
 protected:
  // 4 MiB over two connections of 256 KiB/s behind a 3 s signature: every read of the whole
  // file outlives its URL by far, and needs new requests after it expired.
  void SetUp() override {
    MountTest::SetUp();
    origin_->Configure({{"path", "/keep.bin"}, {"emulate", "s3"}, {"require_signature", true},
                        {"faults", {{{"type", "bandwidth"}, {"bytes_per_second", 256 << 10}}}}});
  }
  void Mount(const std::string& manifest, std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {"--concurrency", "2", "--block-size", "64K", "--max-readahead", "512K"});
    MountTest::Mount(manifest, extra, 30);
  }
  static std::string Tail() {
    return " keep.bin size=" + std::to_string(4 * kMiB + 9) + " md5=" + FileMd5Hex(data_->Path("keep.bin")) + "\n";
  }
  static std::string Line(int seconds) { return origin_->Presign("/keep.bin", seconds) + Tail(); }
  // What a user's script does: asks the signer (here the origin) for a fresh URL.
  static std::string RefreshCommand(int seconds) {
    return "curl -sf '" + origin_->BaseUrl() + "/__control__/sign?path=/keep.bin&expires=" +
           std::to_string(seconds) + "&emulate=s3' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"url\"] + \"" +
           Tail().substr(0, Tail().size() - 1) + "\")'";
  }
};

TEST_F(RefreshMountTest, WithARefreshCommandAReadOutlivesItsUrl) {
  ASSERT_NO_FATAL_FAILURE(Mount(Line(3), {"--refresh-command", RefreshCommand(3), "--refresh-before", "1", "-v"}));
  PyRead r = PythonRead(Mp("keep.bin"), 120);
  ASSERT_TRUE(r.ok) << r.raw;
  EXPECT_EQ(r.md5, FileMd5Hex(Src("keep.bin")));
  EXPECT_EQ(Xattr(Mp("keep.bin"), "user.getmfs.verified").value_or(""), "verified");
  RunResult status = RunProgram({kBinary, "status", mp_, "--json"}, {}, 20);
  EXPECT_NE(status.out.find("\"expires\""), std::string::npos) << status.out;
  EXPECT_EQ(status.out.find("X-Amz-Signature"), std::string::npos) << "a signature in the status";
  RunResult text = RunProgram({kBinary, "status", mp_}, {}, 20);
  EXPECT_TRUE(Contains(text.out, "signed URL expires 20")) << text.out;
  std::string log = ReadFile(log_);
  EXPECT_TRUE(Contains(log, "refresh")) << log;
  EXPECT_FALSE(Contains(log, "X-Amz-Signature")) << "a signature in the log";
}

TEST_F(RefreshMountTest, TheOptionWorksAsAnFstabOptionToo) {
  std::string script = tmp_.Path("refresh.sh");
  WriteFile(script, "#!/bin/sh\n" + RefreshCommand(3) + "\n");
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  ASSERT_NO_FATAL_FAILURE(Mount(Line(3), {"-o", "refresh_command=" + script + ",refresh_before=1,refresh_timeout=30"}));
  PyRead r = PythonRead(Mp("keep.bin"), 120);
  ASSERT_TRUE(r.ok) << r.raw;
  EXPECT_EQ(r.md5, FileMd5Hex(Src("keep.bin")));
}

TEST_F(RefreshMountTest, WithoutOneTheReadFailsWithEkeyexpiredAndTheLogSaysWhatToDo) {
  ASSERT_NO_FATAL_FAILURE(Mount(Line(3)));
  PyRead r = PythonRead(Mp("keep.bin"), 120);
  ASSERT_FALSE(r.ok) << r.raw;
  EXPECT_EQ(r.error_number, EKEYEXPIRED) << r.raw;
  std::string log = ReadFile(log_);
  EXPECT_TRUE(Contains(log, "expired")) << log;
  EXPECT_TRUE(Contains(log, "--refresh-command") || Contains(log, "getmfs reload")) << log;
  EXPECT_NE(Xattr(Mp("keep.bin"), "user.getmfs.verified").value_or(""), "verified");
}

TEST_F(RefreshMountTest, BadRefreshOptionsAreRefusedBeforeMounting) {
  WriteFile(manifest_, Line(600));
  for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{
           {"--refresh-command", ""}, {"--refresh-timeout", "0"}, {"--refresh-before", "soon"},
           {"-o", "refresh_timeout=-1"}, {"--ca-bundle", tmp_.Path("missing.pem")}}) {
    RunResult r = MountCommand(bad, 10);
    EXPECT_EQ(r.exit_code, 2) << bad[0] << " " << bad[1] << ": " << r.err;
    EXPECT_FALSE(IsMounted(mp_));
  }
}

}  // namespace
}  // namespace getmfs::testing
