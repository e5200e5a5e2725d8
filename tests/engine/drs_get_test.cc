// `getmfs get` of GA4GH DRS URIs, end to end against the test origin's DRS endpoints: the
// object's checksum verifies the bytes, access ids and their headers, tokens (never printed),
// DRS errors with their exit statuses, manifests of DRS URIs, and an access URL that expires
// in the middle of a download.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/origin.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace getmfs::testing {
namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

constexpr std::uint64_t kMiB = 1 << 20;
const char* const kGetmfs = GETMFS_BINARY;
const char* const kToken = "tok-7f3a9c";

bool Contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

class DrsGetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new TempDir("getmfs-drs-get-");
    WriteRandomFile(data_->Path("a.bin"), 3 * kMiB + 17, 31);
    WriteRandomFile(data_->Path("b.bin"), 200000, 32);
    WriteRandomFile(data_->Path("slow.bin"), 6 * kMiB + 5, 33);
    origin_ = Origin::Start(data_->path()).release();
  }
  static void TearDownTestSuite() {
    delete origin_;
    delete data_;
  }
  void SetUp() override { origin_->Reset(); }

  // getmfs get ARGS..., with --drs-server pointing at the origin.
  RunResult Get(std::vector<std::string> args, const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv = {kGetmfs, "get", "--drs-server", origin_->BaseUrl(), "--chunk-size", "1M"};
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = RunProgram(argv, env, 120);
    // Tokens and signatures never reach any output.
    EXPECT_FALSE(Contains(r.err + r.out, kToken)) << "the token was printed";
    EXPECT_FALSE(Contains(r.err + r.out, "Signature=")) << "a signature was printed: " << r.err;
    return r;
  }
  std::string Out(const std::string& name) const { return tmp_.Path(name); }

  static TempDir* data_;
  static Origin* origin_;
  TempDir tmp_{"getmfs-drs-get-out-"};
};
TempDir* DrsGetTest::data_ = nullptr;
Origin* DrsGetTest::origin_ = nullptr;

TEST_F(DrsGetTest, ADrsUriDownloadsVerifiedWithTheObjectsChecksum) {
  origin_->ConfigureDrs({{"id", "obj-a"}, {"path", "/a.bin"}, {"name", "a.bin"}, {"checksums", {"md5"}}});
  RunResult r = Get({origin_->DrsUri("obj-a"), "-O", Out("a.bin")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(FileMd5Hex(Out("a.bin")), FileMd5Hex(data_->Path("a.bin")));
  EXPECT_TRUE(Contains(r.err, "verified md5 (DRS object)")) << r.err;
}

TEST_F(DrsGetTest, TheObjectsNameNamesTheFileInADirectory) {
  origin_->ConfigureDrs({{"id", "obj-b"}, {"path", "/b.bin"}, {"name", "named-by-drs.bin"}, {"checksums", {"sha-256"}}});
  RunResult r = Get({origin_->DrsUri("obj-b"), "-O", tmp_.path() + "/"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(FileMd5Hex(Out("named-by-drs.bin")), FileMd5Hex(data_->Path("b.bin")));
  EXPECT_TRUE(Contains(r.err, "verified sha256")) << r.err;
}

TEST_F(DrsGetTest, AnAccessIdIsResolvedAndItsHeadersGoWithEveryRequest) {
  origin_->ConfigureDrs({{"id", "obj-h"}, {"path", "/a.bin"}, {"access", "id"}, {"access_id", "acc-1"},
                         {"headers", {"X-Drs-Key: k-secret"}}, {"checksums", {"crc32c"}}});
  RunResult r = Get({origin_->DrsUri("obj-h"), "-O", Out("h.bin")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(FileMd5Hex(Out("h.bin")), FileMd5Hex(data_->Path("a.bin")));
  EXPECT_FALSE(Contains(r.err, "k-secret")) << "an access header was printed";
  json stats = origin_->DrsStats();
  EXPECT_EQ(stats["objects"]["obj-h"]["access"].get<int>(), 1) << stats.dump();
}

TEST_F(DrsGetTest, AWrongChecksumInTheObjectFailsAndLeavesNothing) {
  origin_->ConfigureDrs({{"id", "obj-w"}, {"path", "/a.bin"},
                         {"checksums", {{{"type", "md5"}, {"checksum", std::string(32, '0')}}}}});
  RunResult r = Get({origin_->DrsUri("obj-w"), "-O", Out("w.bin")});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_FALSE(stdfs::exists(Out("w.bin")));
  EXPECT_TRUE(Contains(r.err, "DRS object")) << r.err;
}

TEST_F(DrsGetTest, WithoutATokenTheErrorSaysHowToGiveOne) {
  origin_->ConfigureDrs({{"id", "obj-t"}, {"path", "/b.bin"}, {"token", kToken}});
  RunResult none = Get({origin_->DrsUri("obj-t"), "-O", Out("t.bin")});
  EXPECT_EQ(none.exit_code, 5) << none.err;
  EXPECT_TRUE(Contains(none.err, "401")) << none.err;
  EXPECT_TRUE(Contains(none.err, "--drs-token-file")) << none.err;
  EXPECT_FALSE(stdfs::exists(Out("t.bin")));

  RunResult wrong = Get({origin_->DrsUri("obj-t"), "-O", Out("t.bin")}, {"GETMFS_DRS_TOKEN=not-it"});
  EXPECT_EQ(wrong.exit_code, 5) << wrong.err;
  EXPECT_TRUE(Contains(wrong.err, "403")) << wrong.err;

  RunResult env = Get({origin_->DrsUri("obj-t"), "-O", Out("t.bin")}, {std::string("GETMFS_DRS_TOKEN=") + kToken});
  ASSERT_EQ(env.exit_code, 0) << env.err;
  std::string token_file = tmp_.Path("token");
  WriteFile(token_file, std::string(kToken) + "\n");
  RunResult file = Get({origin_->DrsUri("obj-t"), "-O", Out("t2.bin"), "--drs-token-file", token_file, "-v"});
  ASSERT_EQ(file.exit_code, 0) << file.err;
  EXPECT_EQ(FileMd5Hex(Out("t2.bin")), FileMd5Hex(data_->Path("b.bin")));
}

TEST_F(DrsGetTest, DrsErrorsCarryTheServersMessageAndTheirExitStatus) {
  RunResult unknown = Get({origin_->DrsUri("no-such-object"), "-O", Out("x.bin")});
  EXPECT_EQ(unknown.exit_code, 6) << unknown.err;
  EXPECT_TRUE(Contains(unknown.err, "404")) << unknown.err;
  origin_->ConfigureDrs({{"id", "obj-f"}, {"path", "/b.bin"}, {"status", 403}, {"msg", "embargoed until 2027"}});
  RunResult forbidden = Get({origin_->DrsUri("obj-f"), "-O", Out("x.bin")});
  EXPECT_EQ(forbidden.exit_code, 5) << forbidden.err;
  EXPECT_TRUE(Contains(forbidden.err, "embargoed until 2027")) << forbidden.err;
  RunResult compact = RunProgram({kGetmfs, "get", "drs://dg.4503:abc", "-O", Out("x.bin")});
  EXPECT_EQ(compact.exit_code, 2) << compact.err;
  EXPECT_TRUE(Contains(compact.err, "--drs-server")) << compact.err;
  RunResult bad_server = RunProgram({kGetmfs, "get", "--drs-server", "ftp://x", "drs://h/x"});
  EXPECT_EQ(bad_server.exit_code, 2) << bad_server.err;
}

TEST_F(DrsGetTest, AManifestOfDrsUrisDownloadsEachUnderItsName) {
  origin_->ConfigureDrs(json::array({{{"id", "m1"}, {"path", "/a.bin"}, {"name", "one.bin"}},
                                     {{"id", "m2"}, {"path", "/b.bin"}, {"name", "two.bin"}, {"access", "id"}}}));
  std::string manifest = tmp_.Path("urls.txt");
  WriteFile(manifest, origin_->DrsUri("m1") + "\n" + origin_->DrsUri("m2") + " sub/second.bin\n");
  RunResult r = Get({"--manifest", manifest, "-O", tmp_.Path("out")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(FileMd5Hex(tmp_.Path("out/one.bin")), FileMd5Hex(data_->Path("a.bin")));
  EXPECT_EQ(FileMd5Hex(tmp_.Path("out/sub/second.bin")), FileMd5Hex(data_->Path("b.bin")));
}

TEST_F(DrsGetTest, AnAccessUrlThatExpiresMidDownloadIsResolvedAgain) {
  // 6 MiB at 1 MiB/s per connection over 2 connections behind a 2 s signature.
  origin_->Configure({{"path", "/slow.bin"}, {"emulate", "s3"}, {"require_signature", true},
                      {"faults", {{{"type", "bandwidth"}, {"bytes_per_second", 1 << 20}}}}});
  origin_->ConfigureDrs({{"id", "slow"}, {"path", "/slow.bin"}, {"expires", 2}, {"access", "id"}});
  RunResult r = Get({origin_->DrsUri("slow"), "-O", Out("slow.bin"), "--concurrency", "2", "-v"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(FileMd5Hex(Out("slow.bin")), FileMd5Hex(data_->Path("slow.bin")));
  json stats = origin_->DrsStats();
  EXPECT_GE(stats["objects"]["slow"]["access"].get<int>(), 2) << stats.dump();
  EXPECT_TRUE(Contains(r.err, "resolving")) << r.err;
}

TEST_F(DrsGetTest, ARefreshCommandRenewsTheUrlsOfAManifest) {
  origin_->Configure({{"path", "/slow.bin"}, {"emulate", "s3"}, {"require_signature", true},
                      {"faults", {{{"type", "bandwidth"}, {"bytes_per_second", 1 << 20}}}}});
  std::string tail = " slow.bin md5=" + FileMd5Hex(data_->Path("slow.bin"));
  std::string command = "curl -sf '" + origin_->BaseUrl() +
                        "/__control__/sign?path=/slow.bin&expires=2&emulate=s3' | python3 -c 'import json,sys; "
                        "print(json.load(sys.stdin)[\"url\"] + \"" + tail + "\")'";
  std::string manifest = tmp_.Path("urls.txt");
  WriteFile(manifest, origin_->Presign("/slow.bin", 2) + tail + "\n");
  RunResult r = Get({"--manifest", manifest, "-O", tmp_.Path("out"), "--concurrency", "2", "--refresh-command", command});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(FileMd5Hex(tmp_.Path("out/slow.bin")), FileMd5Hex(data_->Path("slow.bin")));
  RunResult without = Get({"--manifest", manifest, "-O", tmp_.Path("out2"), "--concurrency", "2"});
  EXPECT_EQ(without.exit_code, 4) << without.err;   // kExpired
  RunResult alone = RunProgram({kGetmfs, "get", origin_->Url("/b.bin"), "--refresh-command", "true"});
  EXPECT_EQ(alone.exit_code, 2) << alone.err;
}

}  // namespace
}  // namespace getmfs::testing
