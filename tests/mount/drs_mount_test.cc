// A manifest of GA4GH DRS URIs under a real mount: files named by their DRS objects, bytes
// verified with the objects' checksums, access ids with headers, a token that never appears
// in the log or the status, access URLs that expire during a read (resolved again, the reader
// sees nothing), and a clear refusal to mount without a token.
#include <gtest/gtest.h>

#include <cerrno>

#include <nlohmann/json.hpp>

#include "support/mount_fixture.h"

namespace getmfs::testing {
namespace {

const char* const kToken = "mount-tok-51b2";

class DrsMountTest : public MountTest {
 protected:
  void SetUp() override {
    MountTest::SetUp();
    token_file_ = tmp_.Path("token");
    WriteFile(token_file_, std::string(kToken) + "\n");
  }
  void MountDrs(const std::string& manifest, std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {"--drs-server", origin_->BaseUrl(), "--drs-token-file", token_file_, "-v"});
    Mount(manifest, extra, 30);
  }
  // Nothing the test can read shows the token or a signature.
  void ExpectNoSecrets() {
    RunResult status = RunProgram({kBinary, "status", mp_, "--json"}, {}, 20);
    RunResult text = RunProgram({kBinary, "status", mp_}, {}, 20);
    for (const std::string& seen : {Log(), status.out, text.out}) {
      EXPECT_FALSE(Contains(seen, kToken)) << "the token appeared: " << seen;
      EXPECT_FALSE(Contains(seen, "Signature=")) << "a signature appeared";
      EXPECT_FALSE(Contains(seen, "k-mount")) << "an access header appeared";
    }
  }
  std::string token_file_;
};

TEST_F(DrsMountTest, DrsObjectsMountUnderTheirNamesAndVerifyWithTheirChecksums) {
  origin_->ConfigureDrs(nlohmann::json::array(
      {{{"id", "big"}, {"path", "/big.bin"}, {"name", "big.bin"}, {"token", kToken}, {"checksums", {"md5"}}},
       {{"id", "s3obj"}, {"path", "/s3.bin"}, {"name", "cohort/s3.bin"}, {"token", kToken}, {"access", "id"},
        {"headers", {"X-Drs-Key: k-mount"}}, {"checksums", {"sha-256"}}}}));
  ASSERT_NO_FATAL_FAILURE(MountDrs(origin_->DrsUri("big") + "\n" + origin_->DrsUri("s3obj") + "\n"));
  EXPECT_EQ(FileMd5Hex(Mp("big.bin")), FileMd5Hex(Src("big.bin")));
  EXPECT_EQ(FileMd5Hex(Mp("cohort/s3.bin")), FileMd5Hex(Src("s3.bin")));
  EXPECT_EQ(Xattr(Mp("big.bin"), "user.getmfs.verified").value_or(""), "verified");
  EXPECT_EQ(Xattr(Mp("cohort/s3.bin"), "user.getmfs.verified").value_or(""), "verified");
  EXPECT_TRUE(Contains(Xattr(Mp("cohort/s3.bin"), "user.getmfs.checksum").value_or(""), "sha256"));
  ExpectNoSecrets();
  RunResult r = RunProgram({kBinary, "unmount", mp_}, {}, 20);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(DrsMountTest, EntriesWithAPathResolveInTheBackgroundAfterTheMountIsUp) {
  origin_->ConfigureDrs(nlohmann::json::array(
      {{{"id", "big"}, {"path", "/big.bin"}, {"token", kToken}},
       {{"id", "s3obj"}, {"path", "/s3.bin"}, {"token", kToken}, {"access", "id"}, {"headers", {"X-Drs-Key: k-mount"}},
        {"checksums", {"crc32c"}}}}));
  // "missing" does not resolve: with a PATH the mount does not wait for it, its reads fail.
  ASSERT_NO_FATAL_FAILURE(MountDrs(origin_->DrsUri("big") + " data/big.bin\n" + origin_->DrsUri("s3obj") +
                                   " data/s3.bin\n" + origin_->DrsUri("missing") + " data/missing.bin\n"));
  RunResult ls = RunProgram({"ls", Mp("data")}, {}, 20);
  EXPECT_EQ(ls.out, "big.bin\nmissing.bin\ns3.bin\n") << ls.err;
  EXPECT_EQ(FileMd5Hex(Mp("data/big.bin")), FileMd5Hex(Src("big.bin")));
  EXPECT_EQ(FileMd5Hex(Mp("data/s3.bin")), FileMd5Hex(Src("s3.bin")));
  EXPECT_EQ(Xattr(Mp("data/s3.bin"), "user.getmfs.verified").value_or(""), "verified");
  PyRead missing = PythonRead(Mp("data/missing.bin"), 30);
  EXPECT_FALSE(missing.ok) << missing.raw;
  EXPECT_EQ(missing.error_number, ESTALE) << missing.raw;
  EXPECT_TRUE(WaitFor([&] { return Contains(Log(), "404"); }, 10)) << Log();
  ExpectNoSecrets();
}

TEST_F(DrsMountTest, AReadOutlivesItsAccessUrl) {
  // 4 MiB over two connections of 256 KiB/s behind access URLs that live 3 s.
  origin_->Configure({{"path", "/keep.bin"}, {"emulate", "s3"}, {"require_signature", true},
                      {"faults", {{{"type", "bandwidth"}, {"bytes_per_second", 256 << 10}}}}});
  origin_->ConfigureDrs({{"id", "keep"}, {"path", "/keep.bin"}, {"name", "keep.bin"}, {"expires", 3}});
  ASSERT_NO_FATAL_FAILURE(MountDrs(origin_->DrsUri("keep") + "\n",
                                   {"--concurrency", "2", "--block-size", "64K", "--max-readahead", "512K",
                                    "--refresh-before", "1"}));
  PyRead read = PythonRead(Mp("keep.bin"), 120);
  ASSERT_TRUE(read.ok) << read.raw;
  EXPECT_EQ(read.md5, FileMd5Hex(Src("keep.bin")));
  EXPECT_EQ(Xattr(Mp("keep.bin"), "user.getmfs.verified").value_or(""), "verified");
  nlohmann::json stats = origin_->DrsStats();
  EXPECT_GE(stats["objects"]["keep"]["lookups"].get<int>(), 2) << stats.dump();
  EXPECT_TRUE(Contains(Log(), "DRS URIs resolved again")) << Log();
  ExpectNoSecrets();
}

TEST_F(DrsMountTest, WithoutATokenNothingIsMountedAndTheErrorSaysWhy) {
  origin_->ConfigureDrs({{"id", "big"}, {"path", "/big.bin"}, {"token", kToken}});
  WriteFile(manifest_, origin_->DrsUri("big") + "\n");
  RunResult r = MountCommand({"--drs-server", origin_->BaseUrl()}, 10);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(IsMounted(mp_));
  EXPECT_TRUE(Contains(r.err, "urls.txt:1")) << r.err;
  EXPECT_TRUE(Contains(r.err, "--drs-token-file")) << r.err;
  WriteFile(manifest_, origin_->DrsUri("nope") + "\n");
  RunResult unknown = MountCommand({"--drs-server", origin_->BaseUrl(), "--drs-token-file", token_file_}, 10);
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_TRUE(Contains(unknown.err, "404")) << unknown.err;
  EXPECT_FALSE(Contains(r.err + unknown.err, kToken));
}

}  // namespace
}  // namespace getmfs::testing
