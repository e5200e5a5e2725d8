// `getmfs get` and `getm` end to end: the real executable against the test origin and nginx.
// The basics: every concurrency mode, every destination form (and an interrupt leaving nothing
// behind), size options, the progress line, and nginx as a real server.
// (Checksums: get_cli_verify_test.cc; failures and redaction: get_cli_failures_test.cc;
// manifests: get_cli_manifest_test.cc; shared fixture: get_cli_fixture.h.)
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "engine/get_cli_fixture.h"
#include "support/nginx.h"
#include "support/origin.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace getmfs::testing {
namespace {

// ============================================================================================
// Every concurrency mode.

class GetCliModes : public GetCliBase, public ::testing::WithParamInterface<std::string> {};

TEST_P(GetCliModes, MultiMiBFileMatchesAndIsVerified) {
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "s3"}});
  RunResult r = Get({Url("/data.bin"), Out("data.bin"), "--concurrency", GetParam(), "--chunk-size", kChunk});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ReadFile(Out("data.bin")), *data_);
  EXPECT_TRUE(Contains(r.err, "verified s3_etag")) << r.err;
  EXPECT_FALSE(Contains(r.err, "unverified")) << r.err;
  ExpectOutputHolds({"data.bin"});
  // Range requests when parallel; the object crossed the wire about once.
  auto stats = origin_->PathStats("/data.bin");
  EXPECT_GE(stats.value("body_bytes", 0), static_cast<std::int64_t>(kDataSize));
  EXPECT_LT(stats.value("body_bytes", 0), static_cast<std::int64_t>(kDataSize * 3 / 2)) << stats.dump();
  if (GetParam() == "16") {
    EXPECT_GE(stats.value("requests", 0), 5) << stats.dump();  // the probe + 4 chunks
  }
}

TEST_P(GetCliModes, EmptyAndOneByteFiles) {
  origin_->Configure(json::array({{{"path", "/empty.bin"}, {"emulate", "gcs"}}, {{"path", "/one.bin"}, {"emulate", "s3"}}}));
  RunResult r = Get({Url("/empty.bin"), Out("e"), "--concurrency", GetParam(), "--chunk-size", kChunk});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ReadFile(Out("e")), "");
  EXPECT_TRUE(Contains(r.err, "verified gs_crc32c")) << r.err;
  r = Get({Url("/one.bin"), Out("o"), "--concurrency", GetParam(), "--chunk-size", kChunk});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ReadFile(Out("o")), ReadFile(data_dir_->Path("one.bin")));
  EXPECT_TRUE(Contains(r.err, "verified s3_etag")) << r.err;
  ExpectOutputHolds({"e", "o"});
}

TEST_P(GetCliModes, CorruptBodyExits3AndLeavesNothing) {
  const std::uint64_t offset = 2 * kMiB + 5;
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "s3"}, {"faults", {{{"type", "corrupt"}, {"offset", offset}}}}});
  RunResult r = Get({Url("/data.bin"), "-O", Out("data.bin"), "--concurrency", GetParam(), "--chunk-size", kChunk});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  std::string corrupted = *data_;
  corrupted[offset] = static_cast<char>(corrupted[offset] ^ 0xFF);
  EXPECT_TRUE(Contains(r.err, "s3_etag")) << r.err;
  EXPECT_TRUE(Contains(r.err, Md5Hex(*data_))) << "expected value missing: " << r.err;
  EXPECT_TRUE(Contains(r.err, Md5Hex(corrupted))) << "actual value missing: " << r.err;
  // Said once, naming the object (an empty name once made it ": : checksum mismatch").
  EXPECT_FALSE(Contains(r.err, ": :")) << r.err;
  EXPECT_EQ(r.err.find("checksum mismatch"), r.err.rfind("checksum mismatch")) << "said twice: " << r.err;
  ExpectOutputHolds({});
}

TEST_P(GetCliModes, TransientFaultsAreRetried) {
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "gcs"},
                      {"faults", {{{"type", "status"}, {"code", 503}, {"retry_after", 1}, {"after", 1}, {"times", 1}},
                                  {{"type", "reset"}, {"after_bytes", 1000}, {"after", 2}, {"times", 1}},
                                  {{"type", "short"}, {"after_bytes", 5000}, {"after", 3}, {"times", 1}},
                                  {{"type", "status"}, {"code", 429}, {"after", 4}, {"times", 1}}}}});
  RunResult r = Get({Url("/data.bin"), Out("d.bin"), "--concurrency", GetParam(), "--chunk-size", kChunk, "--timeout", "30"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ReadFile(Out("d.bin")), *data_);
  EXPECT_TRUE(Contains(r.err, "verified gs_crc32c")) << r.err;
  auto stats = origin_->PathStats("/data.bin");
  EXPECT_EQ(stats["statuses"].value("503", 0), 1) << stats.dump();
  EXPECT_EQ(stats["faults_fired"].value("reset", 0), 1) << stats.dump();
  EXPECT_EQ(stats["faults_fired"].value("short", 0), 1) << stats.dump();
  EXPECT_EQ(stats["statuses"].value("429", 0), 1) << stats.dump();
  ExpectOutputHolds({"d.bin"});
}

TEST_P(GetCliModes, ServersThatLabelWiderRangesOrIgnoreRangeGiveTheRightBytes) {
  for (const json& fault : {json{{"type", "wide_range"}, {"to", "object"}}, json{{"type", "wide_range"}, {"to", "end"}},
                            json{{"type", "ignore_range"}}}) {
    SCOPED_TRACE(fault.dump());
    origin_->Reset();
    origin_->Configure({{"path", "/data.bin"}, {"emulate", "s3"}, {"faults", {fault}}});
    RunResult r = Get({Url("/data.bin"), Out("data.bin"), "--concurrency", GetParam(), "--chunk-size", kChunk});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(ReadFile(Out("data.bin")), *data_);
    EXPECT_TRUE(Contains(r.err, "verified s3_etag")) << r.err;
    // No request beyond the probe and one per part: the labelled bytes were used, none
    // asked for again.
    EXPECT_LE(origin_->PathStats("/data.bin").value("requests", 99), 5) << origin_->PathStats("/data.bin").dump();
  }
}

INSTANTIATE_TEST_SUITE_P(GetCli, GetCliModes, ::testing::Values("none", "1", "16"),
                         [](const ::testing::TestParamInfo<std::string>& p) {
                           return p.param == "none" ? std::string("None") : "C" + p.param;
                         });

// ============================================================================================
// Destinations and file modes.

class GetCliDestination : public GetCliBase {};

TEST_F(GetCliDestination, FileModeFollowsUmask) {
  mode_t old = umask(022);
  RunResult r = Get({Url("/small.bin"), Out("a")});
  umask(027);
  RunResult r2 = Get({Url("/small.bin"), Out("b")});
  umask(old);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ASSERT_EQ(r2.exit_code, 0) << Describe(r2);
  EXPECT_EQ(ModeOf(Out("a")), 0644u);
  EXPECT_EQ(ModeOf(Out("b")), 0640u);
}

TEST_F(GetCliDestination, AllDestinationForms) {
  // FILE positional.
  RunResult r = Get({Url("/small.bin"), Out("positional.bin")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  // -O FILE.
  r = Get({Url("/small.bin"), "-O", Out("dash-o.bin")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  // -O DIR/ (not existing yet): the URL's last segment, percent-decoded.
  r = Get({Url("/dir/other%20name.bin"), "-O", Out("newdir") + "/"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  // Positional existing DIR.
  stdfs::create_directory(Out("existing"));
  r = Get({Url("/small.bin"), Out("existing")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  // Positional DIR and a Content-Disposition filename.
  origin_->Configure({{"path", "/data.bin"}, {"content_disposition", "from-server.bin"}});
  stdfs::create_directory(Out("cd"));
  r = Get({Url("/data.bin"), Out("cd"), "--chunk-size", kChunk});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  // getm URL FILE through the symlink.
  r = RunCli({kGetm, Url("/small.bin"), Out("via-getm.bin"), "--workers", "2"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "getm: ")) << "getm names itself: " << r.err;
  // getm URL DIR.
  stdfs::create_directory(Out("getmdir"));
  r = RunCli({kGetm, Url("/one.bin"), Out("getmdir")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);

  EXPECT_EQ(ReadFile(Out("positional.bin")), *small_);
  EXPECT_EQ(ReadFile(Out("dash-o.bin")), *small_);
  EXPECT_EQ(ReadFile(Out("newdir/other name.bin")), ReadFile(data_dir_->Path("dir/other name.bin")));
  EXPECT_EQ(ReadFile(Out("existing/small.bin")), *small_);
  EXPECT_EQ(ReadFile(Out("cd/from-server.bin")), *data_);
  EXPECT_EQ(ReadFile(Out("via-getm.bin")), *small_);
  EXPECT_EQ(ReadFile(Out("getmdir/one.bin")), ReadFile(data_dir_->Path("one.bin")));
  ExpectOutputHolds({"cd", "cd/from-server.bin", "dash-o.bin", "existing", "existing/small.bin", "getmdir",
                     "getmdir/one.bin", "newdir", "newdir/other name.bin", "positional.bin", "via-getm.bin"});
}

TEST_F(GetCliDestination, ContentDispositionCannotEscapeTheDirectory) {
  stdfs::create_directory(Out("in"));
  origin_->Configure({{"path", "/small.bin"}, {"content_disposition", "../evil.bin"}});
  RunResult r = Get({Url("/small.bin"), Out("in")});
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 2) << Describe(r);
  origin_->Configure({{"path", "/small.bin"}, {"content_disposition_raw", "attachment; filename=\"" + Out("abs.bin") + "\""}});
  r = Get({Url("/small.bin"), Out("in")});
  EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 2) << Describe(r);
  // Whatever was saved stayed inside "in".
  for (const auto& name : ListTree(out_->path())) EXPECT_TRUE(name.starts_with("in")) << name;
  EXPECT_FALSE(stdfs::exists(Out("evil.bin")));
  EXPECT_FALSE(stdfs::exists(Out("abs.bin")));
  for (const auto& name : ListTree(Out("in"))) EXPECT_FALSE(Contains(name, ".getmfs-")) << name;
}

TEST_F(GetCliDestination, DefaultIsTheCurrentDirectory) {
  RunResult r = RunCli({"/bin/sh", "-c", "cd \"$0\" && exec \"$1\" get \"$2\" --workers 2", out_->path(), kGetmfs,
                        Url("/small.bin")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ReadFile(Out("small.bin")), *small_);
  ExpectOutputHolds({"small.bin"});
}

TEST_F(GetCliDestination, ExistingFileIsReplacedOnlyOnSuccess) {
  WriteFile(Out("t.bin"), "old contents");
  origin_->Configure({{"path", "/small.bin"}, {"emulate", "s3"}, {"faults", {{{"type", "corrupt"}, {"offset", 10}}}}});
  RunResult r = Get({Url("/small.bin"), Out("t.bin")});
  EXPECT_EQ(r.exit_code, 3) << Describe(r);
  EXPECT_EQ(ReadFile(Out("t.bin")), "old contents");
  origin_->Configure({{"path", "/small.bin"}, {"emulate", "s3"}});
  r = Get({Url("/small.bin"), Out("t.bin")});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ReadFile(Out("t.bin")), *small_);
  ExpectOutputHolds({"t.bin"});
}

TEST_F(GetCliDestination, InterruptLeavesNothingBehind) {
  origin_->Configure({{"path", "/data.bin"}, {"faults", {{{"type", "bandwidth"}, {"bytes_per_second", 256 * 1024}}}}});
  auto child = ChildProcess::Start({kGetmfs, "get", Url("/data.bin"), Out("data.bin"), "--chunk-size", kChunk,
                                    "--workers", "2", "--timeout", "60"},
                                   {std::string("GETMFS_WORKER=") + kGetmfs});
  // Wait for the temporary file to appear, then interrupt.
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    for (const auto& name : ListTree(out_->path())) seen |= Contains(name, ".data.bin.getmfs-");
  }
  EXPECT_TRUE(seen) << "no temporary file appeared: " << Joined(ListTree(out_->path()));
  child->Signal(SIGINT);
  auto code = child->Wait(10);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 128 + SIGINT);
  ExpectOutputHolds({});
}

// ============================================================================================
// Sizes take suffixes, as the option's own message says ("examples: 1048576, 64K, 8M, 1G").
class GetCliArguments : public GetCliBase {};

TEST_F(GetCliArguments, ChunkSizeTakesSuffixes) {
  RunResult r = Get({Url("/data.bin"), Out("d.bin"), "--chunk-size", "1M"});
  if (r.exit_code == 2 && Contains(r.err, "not in range")) {
    FAIL() << "regression: --chunk-size 1M is rejected (the SizeValidator is added with check(), "
                    "so its conversion to bytes is discarded): "
                 << r.err;
  }
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ReadFile(Out("d.bin")), *data_);
  EXPECT_EQ(origin_->PathStats("/data.bin").value("requests", 0), 5) << "the probe + four 1 MiB ranges";
  r = Get({Url("/small.bin"), Out("s.bin"), "--chunk-size", "64K"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  r = Get({Url("/small.bin"), Out("t.bin"), "--chunk-size", "1K"});  // below the 4096 minimum
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  ExpectOutputHolds({"d.bin", "s.bin"});
}

TEST_F(GetCliArguments, CacheSizeIsAHardLimit) {
  // Four 1 MiB slots hold the window and the digest's lag: still the right bytes, verified.
  RunResult r = Get({Url("/data.bin"), Out("d.bin"), "--chunk-size", "1M", "--cache-size", "4M", "--checksum",
                     Md5Hex(*data_)});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ReadFile(Out("d.bin")), *data_);
  // Less than two blocks per file cannot work: a clear usage error, nothing requested.
  origin_->Reset();
  r = Get({Url("/data.bin"), Out("e.bin"), "--chunk-size", "1M", "--cache-size", "1M"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "--cache-size")) << r.err;
  EXPECT_EQ(origin_->PathStats("/data.bin").value("requests", 0), 0);
  ExpectOutputHolds({"d.bin"});
}

TEST_F(GetCliArguments, S3PartSizeTakesSuffixes) {
  const std::size_t part = 1536 * 1024;  // 3 parts; neither a tool default nor the even split
  std::string etag = MultipartEtag(*data_, part);
  ASSERT_TRUE(etag.ends_with("-3"));
  RunResult r = Get({Url("/data.bin"), Out("p.bin"), "--checksum", etag, "--checksum-algorithm", "s3_etag",
                     "--s3-part-size", "1536K", "--chunk-size", kChunk});
  if (r.exit_code == 2 && Contains(r.err, "Could not convert")) {
    FAIL() << "regression: --s3-part-size 1536K is rejected (SizeValidator added with check()): " << r.err;
  }
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ReadFile(Out("p.bin")), *data_);
}

// ============================================================================================
// Progress.

class GetCliProgress : public GetCliBase {};

TEST_F(GetCliProgress, ProgressOnlyWhenAskedOnANonTerminal) {
  RunResult r = Get({Url("/data.bin"), Out("a.bin"), "--chunk-size", kChunk, "--progress"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "100%")) << r.err;
  r = Get({Url("/data.bin"), Out("b.bin"), "--chunk-size", kChunk, "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_FALSE(Contains(r.err, "%")) << r.err;
  EXPECT_FALSE(Contains(r.err, "\r")) << r.err;
  r = Get({Url("/data.bin"), Out("c.bin"), "--chunk-size", kChunk});  // stderr is a pipe
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_FALSE(Contains(r.err, "%")) << r.err;
  r = Get({Url("/data.bin"), Out("d.bin"), "--chunk-size", kChunk, "--progress", "-q"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(ReadFile(Out("a.bin")), *data_);
}

// ============================================================================================
// nginx: a real server, whose ETag is not an MD5.

TEST(GetCliNginx, DownloadsMatchAndAreUnverified) {
  TempDir root("getcli-nginx-");
  WriteRandomFile(root.Path("n.bin"), kDataSize, 21);
  const std::string want = ReadFile(root.Path("n.bin"));
  auto nginx = Nginx::Start(root.path());
  TempDir out("getcli-nginx-out-");
  for (const char* concurrency : {"16", "1"}) {
    SCOPED_TRACE(concurrency);
    std::string dest = out.Path(std::string("n") + concurrency + ".bin");
    RunResult r = RunCli({kGetmfs, "get", nginx->Url("/n.bin"), dest, "--concurrency", concurrency, "--chunk-size",
                          kChunk, "--workers", "2"});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(ReadFile(dest), want);
    EXPECT_EQ(Count(r.err, "no checksum is known"), 1u) << r.err;
  }
  // With a checksum given, nginx's bytes are verified (getm, like getm, says so only with -v).
  RunResult r = RunCli({kGetm, nginx->Url("/n.bin"), out.Path("v.bin"), "--checksum", Md5Hex(want), "--workers", "2", "-v"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "verified md5")) << r.err;
  r = RunCli({kGetm, nginx->Url("/n.bin"), out.Path("v.bin"), "--checksum", Md5Hex(want), "--workers", "2"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(ReadFile(out.Path("v.bin")), want);
  r = RunCli({kGetm, nginx->Url("/absent.bin"), out.Path("x.bin")});
  EXPECT_EQ(r.exit_code, 6) << Describe(r);
  EXPECT_EQ(ListTree(out.path()), (std::vector<std::string>{"n1.bin", "n16.bin", "v.bin"}));
}

}  // namespace
}  // namespace getmfs::testing
