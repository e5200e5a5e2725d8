// `getmfs get` end to end, failures: the documented exit status of each (with nothing left in
// the destination directory), a stalled part moving to another connection, bad arguments, and
// redaction of signed URLs at every verbosity.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/get_cli_fixture.h"
#include "support/origin.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace getmfs::testing {
namespace {

// ============================================================================================
// Failures: exit status, message, nothing left behind.

class GetCliFailure : public GetCliBase {};

TEST_F(GetCliFailure, ExpiredPresignedUrlExits4) {
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "s3"}, {"require_signature", true}});
  std::string expired = origin_->Presign("/data.bin", 60, "s3", "20200101T000000Z");
  RunResult r = Get({expired, Out("d.bin")});
  EXPECT_EQ(r.exit_code, 4) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "expired")) << r.err;
  EXPECT_TRUE(Contains(r.err, "fresh URL")) << r.err;
  ExpectOutputHolds({});
  // GCS style (400 ExpiredToken).
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "gcs"}, {"require_signature", true}});
  r = Get({origin_->Presign("/data.bin", 60, "gcs", "20200101T000000Z"), Out("d.bin")});
  EXPECT_EQ(r.exit_code, 4) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "fresh URL")) << r.err;
  ExpectOutputHolds({});
}

TEST_F(GetCliFailure, BadSignatureExits5) {
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "s3"}, {"require_signature", true}});
  std::string fresh = origin_->Presign("/data.bin", 600);
  std::string tampered = fresh.substr(0, fresh.size() - 4) + (fresh.ends_with("0000") ? "1111" : "0000");
  RunResult r = Get({tampered, Out("d.bin")});
  EXPECT_EQ(r.exit_code, 5) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "refused")) << r.err;
  ExpectOutputHolds({});
  // Unsigned request to a path that requires one.
  r = Get({Url("/data.bin"), Out("d.bin")});
  EXPECT_EQ(r.exit_code, 5) << Describe(r);
  ExpectOutputHolds({});
  // The good URL works.
  r = Get({fresh, Out("d.bin"), "--chunk-size", kChunk});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ReadFile(Out("d.bin")), *data_);
}

TEST_F(GetCliFailure, NotFoundExits6) {
  RunResult r = Get({Url("/missing.bin"), Out("m.bin")});
  EXPECT_EQ(r.exit_code, 6) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "not found")) << r.err;
  EXPECT_TRUE(Contains(r.err, "/missing.bin")) << r.err;
  ExpectOutputHolds({});
  // Into a directory too.
  r = Get({Url("/missing.bin"), out_->path()});
  EXPECT_EQ(r.exit_code, 6) << Describe(r);
  ExpectOutputHolds({});
}

TEST_F(GetCliFailure, VanishedAfterTheProbeExits6) {
  origin_->Configure({{"path", "/data.bin"}, {"faults", {{{"type", "vanish"}, {"after", 1}}}}});
  RunResult r = Get({Url("/data.bin"), Out("d.bin"), "--chunk-size", kChunk});
  EXPECT_EQ(r.exit_code, 6) << Describe(r);
  ExpectOutputHolds({});
}

TEST_F(GetCliFailure, ServerDownExits7) {
  int port = ClosedPort();
  auto start = std::chrono::steady_clock::now();
  RunResult r = Get({"http://127.0.0.1:" + std::to_string(port) + "/x.bin", Out("x.bin"), "--timeout", "2"}, 30);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 7) << Describe(r);
  EXPECT_LT(seconds, 10) << "--timeout 2 was not honoured";
  EXPECT_TRUE(Contains(r.err, "onnect")) << r.err;
  ExpectOutputHolds({});
}

TEST_F(GetCliFailure, SlowServerPastTimeoutExits8) {
  // The probe answers; the data requests do not in time.
  origin_->Configure({{"path", "/data.bin"}, {"faults", {{{"type", "delay"}, {"seconds", 6}, {"after", 1}}}}});
  auto start = std::chrono::steady_clock::now();
  RunResult r = Get({Url("/data.bin"), Out("d.bin"), "--chunk-size", kChunk, "--timeout", "1.5"}, 30);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exit_code, 8) << Describe(r);
  EXPECT_LT(seconds, 5.5) << "--timeout 1.5 was not honoured";
  EXPECT_TRUE(Contains(r.err, "timed out") || Contains(r.err, "within 1.5")) << r.err;
  ExpectOutputHolds({});
  // A server that stalls mid-body, with one streaming worker.
  origin_->Configure({{"path", "/data.bin"},
                      {"faults", {{{"type", "stall"}, {"after_bytes", 100000}, {"seconds", 6}, {"after", 1}}}}});
  r = Get({Url("/data.bin"), Out("d.bin"), "--concurrency", "1", "--timeout", "1.5"}, 30);
  EXPECT_EQ(r.exit_code, 8) << Describe(r);
  ExpectOutputHolds({});
}

// A part whose response stops mid-body (64 KiB, then nothing for 25 s) moves to another
// connection, as the mount's do: get neither waits the stall out nor fails for --timeout.
// (Its parts are 1 MiB blocks: the worker says how far a block has come every 64 KiB.)
TEST_F(GetCliFailure, AStalledPartMovesToAnotherConnection) {
  origin_->Configure({{"path", "/data.bin"},
                      {"faults", {{{"type", "stall"}, {"after_bytes", 65536}, {"seconds", 25}, {"from_offset", kMiB}, {"times", 2}}}}});
  auto start = std::chrono::steady_clock::now();
  RunResult r = Get({Url("/data.bin"), Out("d.bin"), "--concurrency", "4", "-v"}, 60);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_LT(seconds, 10) << "get waited for the stalled response\n" << Describe(r);
  EXPECT_EQ(ReadFile(Out("d.bin")), *data_);
  EXPECT_GE(origin_->PathStats("/data.bin")["faults_fired"].value("stall", 0), 1) << origin_->PathStats("/data.bin").dump();
  // The 1 MiB parts past the first (the last is too short to stall): at least one was moved.
  EXPECT_GE(origin_->PathStats("/data.bin")["range_requests"].get<int>(), 6) << origin_->PathStats("/data.bin").dump();
}

TEST_F(GetCliFailure, ObjectChangedAfterTheProbeExits9) {
  for (const char* concurrency : {"none", "1", "16"}) {
    SCOPED_TRACE(concurrency);
    origin_->Configure({{"path", "/data.bin"}, {"emulate", "s3"}, {"faults", {{{"type", "change"}, {"after", 1}}}}});
    RunResult r = Get({Url("/data.bin"), Out("d.bin"), "--chunk-size", kChunk, "--concurrency", concurrency});
    EXPECT_EQ(r.exit_code, 9) << Describe(r);
    EXPECT_TRUE(Contains(r.err, "changed")) << r.err;
    ExpectOutputHolds({});
  }
}

TEST_F(GetCliFailure, UnwritableDestinationExits10) {
  WriteFile(Out("plain-file"), "x");
  // A path under a regular file fails even for root (ENOTDIR).
  RunResult r = Get({Url("/small.bin"), "-O", Out("plain-file/x.bin")});
  EXPECT_EQ(r.exit_code, 10) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "plain-file")) << r.err;
  r = Get({Url("/small.bin"), "-O", Out("plain-file/sub") + "/"});
  EXPECT_EQ(r.exit_code, 10) << Describe(r);
  // /proc/self is not writable by root either.
  r = Get({Url("/small.bin"), "-O", "/proc/self/getmfs-test.bin"});
  EXPECT_EQ(r.exit_code, 10) << Describe(r);
  ExpectOutputHolds({"plain-file"});
  EXPECT_EQ(ReadFile(Out("plain-file")), "x");
}

TEST_F(GetCliFailure, BadArgumentsExit2WithoutAnyRequest) {
  const std::string url = Url("/small.bin");
  const std::vector<std::vector<std::string>> cases = {
      {},                                                          // nothing
      {"not-a-url", Out("x")},                                     // bad URL
      {"ftp://127.0.0.1/small.bin", Out("x")},                     // not http(s)
      {"http://", Out("x")},                                       // no host
      {url, Out("x"), "-O", Out("y")},                             // FILE and -O
      {url, Out("x"), "--concurrency", "0"},                       // bad concurrency
      {url, Out("x"), "--concurrency", "many"},
      {url, Out("x"), "--chunk-size", "lots"},                     // bad size
      {url, Out("x"), "--checksum", "xyz"},                        // malformed md5
      {url, Out("x"), "--checksum", "abc", "--checksum-algorithm", "sha256"},
      {url, Out("x"), "--checksum", "12345", "--checksum-algorithm", "crc32c"},
      {url, Out("x"), "--checksum", "not base64!", "--checksum-algorithm", "gs_crc32c"},
      {url, Out("x"), "--checksum", "zz-3", "--checksum-algorithm", "s3_etag"},
      {url, Out("x"), "--checksum", std::string(32, 'a'), "--checksum-algorithm", "sha1"},  // unknown alg
      {url, Out("x"), "--checksum-algorithm", "md5"},              // algorithm without a value
      {url, Out("x"), "--timeout", "-1"},
      {url, Out("x"), "--no-such-option"},
      {url, "--manifest", Out("m.txt")},                           // URL and --manifest
      {url, Out("x"), "extra"},                                    // too many positionals
  };
  for (const auto& args : cases) {
    SCOPED_TRACE(Joined(args));
    RunResult r = Get(args);
    EXPECT_EQ(r.exit_code, 2) << Describe(r);
    EXPECT_FALSE(r.err.empty());
  }
  EXPECT_EQ(Requests(), 0) << "bad arguments must be rejected before any request";
  ExpectOutputHolds({});
}

// ============================================================================================
// Signed URLs never appear in any output.

class GetCliRedaction : public GetCliBase {};

TEST_F(GetCliRedaction, QueryNeverPrintedAtAnyVerbosity) {
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "s3"}, {"require_signature", true}});
  origin_->Configure({{"path", "/small.bin"}, {"emulate", "s3"}, {"require_signature", true},
                      {"faults", {{{"type", "corrupt"}, {"offset", 3}}}}});
  std::string good = origin_->Presign("/data.bin", 600);
  std::string expired = origin_->Presign("/data.bin", 60, "s3", "20200101T000000Z");
  std::string tampered = good.substr(0, good.size() - 4) + (good.ends_with("0000") ? "1111" : "0000");
  std::string missing = origin_->Presign("/missing.bin", 600);
  std::string corrupt = origin_->Presign("/small.bin", 600);
  struct Case {
    std::string name;
    std::string url;
    int exit_code;
    std::vector<std::string> extra;
  };
  const std::vector<Case> cases = {
      {"ok", good, 0, {}},
      {"ok-progress", good, 0, {"--progress"}},
      {"expired", expired, 4, {}},
      {"tampered", tampered, 5, {}},
      {"missing", missing, 6, {}},
      {"corrupt", corrupt, 3, {}},
      {"bad-checksum", good, 2, {"--checksum", "nothex"}},
  };
  for (const auto& c : cases) {
    auto q = c.url.find('?');
    ASSERT_NE(q, std::string::npos);
    const std::string query = c.url.substr(q + 1);
    auto sig = c.url.find("X-Amz-Signature=");
    ASSERT_NE(sig, std::string::npos) << c.url;
    const std::string signature = c.url.substr(sig + 16, 64);
    ASSERT_GE(signature.size(), 32u);
    for (const char* level : {"-q", "", "-v", "-vv"}) {
      SCOPED_TRACE(c.name + " " + level);
      std::vector<std::string> args = {c.url, out_->path(), "--chunk-size", kChunk, "--timeout", "20"};
      if (*level) args.push_back(level);
      args.insert(args.end(), c.extra.begin(), c.extra.end());
      RunResult r = Get(args);
      EXPECT_EQ(r.exit_code, c.exit_code) << Describe(r);
      for (const std::string* stream : {&r.out, &r.err}) {
        EXPECT_FALSE(Contains(*stream, signature)) << "signature leaked: " << *stream;
        EXPECT_FALSE(Contains(*stream, "X-Amz-Signature")) << *stream;
        EXPECT_FALSE(Contains(*stream, "X-Amz-Credential")) << *stream;
        EXPECT_FALSE(Contains(*stream, query)) << *stream;
        EXPECT_FALSE(Contains(*stream, "?X-Amz")) << *stream;
      }
      if (c.exit_code != 0) {
        EXPECT_FALSE(r.err.empty()) << "a failure must be told even with -q";
        ExpectOutputHolds({});
      } else {
        // Saved under the URL's last segment, without the query.
        ExpectOutputHolds({"data.bin"});
        EXPECT_EQ(ReadFile(Out("data.bin")), *data_);
        stdfs::remove(Out("data.bin"));
      }
    }
  }
  // -vv must say more than the default (otherwise the check above proves little for it).
  RunResult quiet = Get({good, Out("a.bin"), "-q"});
  RunResult debug = Get({good, Out("b.bin"), "-vv"});
  ASSERT_EQ(quiet.exit_code, 0);
  ASSERT_EQ(debug.exit_code, 0);
  EXPECT_EQ(quiet.err, "");
  EXPECT_GT(debug.err.size(), 0u);
}

TEST_F(GetCliRedaction, TimeoutAndManifestErrorsAreRedacted) {
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "s3"}, {"require_signature", true},
                      {"faults", {{{"type", "delay"}, {"seconds", 5}, {"after", 1}}}}});
  std::string slow = origin_->Presign("/data.bin", 600);
  std::string signature = slow.substr(slow.find("X-Amz-Signature=") + 16);
  for (const char* level : {"-q", "-v", "-vv"}) {
    RunResult r = Get({slow, Out("d.bin"), "--chunk-size", kChunk, "--timeout", "1", level}, 30);
    EXPECT_EQ(r.exit_code, 8) << Describe(r);
    EXPECT_FALSE(Contains(r.err + r.out, signature)) << r.err;
    EXPECT_FALSE(Contains(r.err + r.out, "X-Amz-")) << r.err;
  }
  // A manifest line with an error names the line, never the query.
  WriteFile(Out("urls.txt"), slow + " a.bin bogus=1\n");
  RunResult r = Get({"--manifest", Out("urls.txt"), "-O", Out("o") + "/", "-vv"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "urls.txt:1")) << r.err;
  EXPECT_FALSE(Contains(r.err + r.out, signature)) << r.err;
  WriteFile(Out("urls.txt"), slow.substr(0, slow.find("data.bin")) + "?X-Amz-Signature=" + signature + "\n");
  r = Get({"--manifest", Out("urls.txt"), "-O", Out("o") + "/", "-vv"});
  EXPECT_NE(r.exit_code, 0) << Describe(r);
  EXPECT_FALSE(Contains(r.err + r.out, signature)) << r.err;
}

}  // namespace
}  // namespace getmfs::testing
