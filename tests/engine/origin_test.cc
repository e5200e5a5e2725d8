// Self-test of the test origin (tests/origin/origin.py), nginx and the C++
// test-support code that the engine, CLI and mount tests rely on.
#include "support/origin.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.h"
#include "support/nginx.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace getmfs::testing {
namespace {

constexpr std::size_t kSize = 1 << 20;
constexpr std::uint64_t kSeed = 42;

std::string HexToBytes(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

class OriginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = RandomBytes(kSize, kSeed);
    WriteRandomFile(dir_.Path("data.bin"), kSize, kSeed);
    WriteFile(dir_.Path("hello.txt"), "hello world");
    origin_ = Origin::Start(dir_.path());
  }

  void TearDown() override {
    // A client going away mid-body or an injected fault must never make the
    // server print a traceback.
    EXPECT_EQ(origin_->ServerLog().find("Traceback"), std::string::npos) << origin_->ServerLog();
  }

  HttpResponse GetRange(const std::string& path, const std::string& range) {
    return HttpGet(origin_->Url(path), {"Range: bytes=" + range});
  }

  TempDir dir_;
  std::string data_;
  std::unique_ptr<Origin> origin_;
};

TEST_F(OriginTest, ServesRangesWithExactContentRange) {
  HttpResponse r = GetRange("/data.bin", "100-199");
  ASSERT_EQ(r.curl_code, CURLE_OK) << r.curl_error;
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.Header("Content-Range"), "bytes 100-199/1048576");
  EXPECT_EQ(r.Header("Content-Length"), "100");
  EXPECT_EQ(r.Header("Accept-Ranges"), "bytes");
  EXPECT_EQ(r.body, data_.substr(100, 100));

  r = GetRange("/data.bin", "1048570-");
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.Header("Content-Range"), "bytes 1048570-1048575/1048576");
  EXPECT_EQ(r.body, data_.substr(1048570));

  r = GetRange("/data.bin", "-10");
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.Header("Content-Range"), "bytes 1048566-1048575/1048576");
  EXPECT_EQ(r.body, data_.substr(kSize - 10));

  r = GetRange("/data.bin", "2000000-");
  EXPECT_EQ(r.status, 416);
  EXPECT_EQ(r.Header("Content-Range"), "bytes */1048576");

  r = HttpGet(origin_->Url("/data.bin"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, data_);
  EXPECT_EQ(r.Header("ETag"), Quoted(Md5Hex(data_)));
  EXPECT_TRUE(r.Header("Last-Modified").has_value());

  EXPECT_EQ(HttpGet(origin_->Url("/missing.bin")).status, 404);

  nlohmann::json stats = origin_->PathStats("/data.bin");
  EXPECT_EQ(stats["requests"], 5);
  EXPECT_EQ(stats["gets"], 5);
  EXPECT_EQ(stats["range_requests"], 4);
  EXPECT_EQ(stats["status_206"], 3);
  EXPECT_EQ(stats["status_200"], 1);
  EXPECT_EQ(stats["status_other"], 1);
  EXPECT_EQ(stats["statuses"]["416"], 1);
  EXPECT_EQ(stats["body_bytes"], 100 + 6 + 10 + kSize);
  EXPECT_EQ(stats["ranges"],
            nlohmann::json({"bytes=100-199", "bytes=1048570-", "bytes=-10", "bytes=2000000-"}));
}

TEST_F(OriginTest, HonoursIfMatch) {
  std::string etag = Quoted(Md5Hex(data_));
  EXPECT_EQ(HttpGet(origin_->Url("/data.bin"), {"Range: bytes=0-0", "If-Match: " + etag}).status,
            206);
  EXPECT_EQ(HttpGet(origin_->Url("/data.bin"), {"If-Match: \"0123\""}).status, 412);
  EXPECT_EQ(origin_->PathStats("/data.bin")["if_match"], 2);
}

TEST_F(OriginTest, IgnoreRangeFaultServesTheWholeObjectOnce) {
  origin_->Configure(
      {{"path", "/data.bin"}, {"faults", {{{"type", "ignore_range"}, {"times", 1}}}}});
  HttpResponse r = GetRange("/data.bin", "10-19");
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.Header("Content-Range").has_value());
  EXPECT_EQ(r.body, data_);
  r = GetRange("/data.bin", "10-19");
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, data_.substr(10, 10));
  EXPECT_EQ(origin_->PathStats("/data.bin")["faults_fired"]["ignore_range"], 1);
}

TEST_F(OriginTest, CorruptFaultFlipsOneByteAtAnObjectOffset) {
  origin_->Configure({{"path", "/data.bin"}, {"faults", {{{"type", "corrupt"}, {"offset", 500}}}}});
  HttpResponse r = GetRange("/data.bin", "0-999");
  ASSERT_EQ(r.body.size(), 1000u);
  std::string expected = data_.substr(0, 1000);
  expected[500] = static_cast<char>(expected[500] ^ 0xFF);
  EXPECT_EQ(r.body, expected);
  EXPECT_EQ(GetRange("/data.bin", "501-600").body, data_.substr(501, 100));
  r = GetRange("/data.bin", "500-500");
  EXPECT_EQ(r.body, std::string(1, static_cast<char>(data_[500] ^ 0xFF)));
}

TEST_F(OriginTest, WrongRangeFaultShiftsTheResponse) {
  origin_->Configure(
      {{"path", "/data.bin"}, {"faults", {{{"type", "wrong_range"}, {"shift", 10}}}}});
  HttpResponse r = GetRange("/data.bin", "100-199");
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.Header("Content-Range"), "bytes 110-209/1048576");
  EXPECT_EQ(r.body, data_.substr(110, 100));
}

TEST_F(OriginTest, ResetAndShortBodyFaults) {
  origin_->Configure({{"path", "/data.bin"},
                      {"faults", {{{"type", "reset"}, {"after_bytes", 1000}, {"times", 1}}}}});
  HttpResponse r = HttpGet(origin_->Url("/data.bin"));
  EXPECT_EQ(r.curl_code, CURLE_RECV_ERROR) << r.curl_error;
  EXPECT_EQ(r.body, data_.substr(0, 1000));
  r = HttpGet(origin_->Url("/data.bin"));
  EXPECT_EQ(r.curl_code, CURLE_OK);
  EXPECT_EQ(r.body, data_);

  origin_->Configure(
      {{"path", "/data.bin"}, {"faults", {{{"type", "short"}, {"after_bytes", 777}}}}});
  r = GetRange("/data.bin", "0-9999");
  EXPECT_EQ(r.curl_code, CURLE_PARTIAL_FILE) << r.curl_error;
  EXPECT_EQ(r.body, data_.substr(0, 777));

  origin_->Configure({{"path", "/data.bin"}, {"faults", {{{"type", "close_after_headers"}}}}});
  r = GetRange("/data.bin", "0-9999");
  EXPECT_NE(r.curl_code, CURLE_OK);
  EXPECT_EQ(r.status, 206);
  EXPECT_TRUE(r.body.empty());

  // from_offset: only requests starting at or after the offset fail.
  origin_->Configure(
      {{"path", "/data.bin"}, {"faults", {{{"type", "reset"}, {"from_offset", 4096}}}}});
  EXPECT_EQ(GetRange("/data.bin", "0-4095").curl_code, CURLE_OK);
  EXPECT_EQ(GetRange("/data.bin", "4096-8191").curl_code, CURLE_RECV_ERROR);
}

TEST_F(OriginTest, StatusFaultTwiceThenSuccess) {
  origin_->Configure(
      {{"path", "/data.bin"},
       {"faults", {{{"type", "status"}, {"code", 503}, {"times", 2}, {"retry_after", 1}}}}});
  HttpClient client;
  for (int i = 0; i < 2; ++i) {
    HttpResponse r = client.Get(origin_->Url("/data.bin"), {"Range: bytes=0-0"});
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.Header("Retry-After"), "1");
  }
  HttpResponse r = client.Get(origin_->Url("/data.bin"), {"Range: bytes=0-0"});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.body, data_.substr(0, 1));
  nlohmann::json stats = origin_->PathStats("/data.bin");
  EXPECT_EQ(stats["statuses"]["503"], 2);
  EXPECT_EQ(stats["faults_fired"]["status"], 2);
  EXPECT_EQ(stats["connections"], 1);  // error responses keep the connection alive
}

TEST_F(OriginTest, ChangeAndVanishFaults) {
  origin_->Configure({{"path", "/data.bin"}, {"faults", {{{"type", "change"}, {"after", 1}}}}});
  std::string old_etag = Quoted(Md5Hex(data_));
  HttpResponse first = GetRange("/data.bin", "0-99");
  EXPECT_EQ(first.Header("ETag"), old_etag);
  HttpResponse second = GetRange("/data.bin", "0-99");
  std::string changed = data_.substr(0, 100);
  for (char& c : changed) c = static_cast<char>(c ^ 0x55);
  EXPECT_EQ(second.body, changed);
  EXPECT_NE(second.Header("ETag"), old_etag);
  EXPECT_EQ(HttpGet(origin_->Url("/data.bin"), {"If-Match: " + old_etag}).status, 412);

  origin_->Configure({{"path", "/data.bin"}, {"faults", {{{"type", "vanish"}, {"after", 1}}}}});
  EXPECT_EQ(GetRange("/data.bin", "0-0").status, 206);
  EXPECT_EQ(GetRange("/data.bin", "0-0").status, 404);
}

TEST_F(OriginTest, SlowFaults) {
  origin_->Configure({{"path", "/data.bin"},
                      {"faults",
                       {{{"type", "delay"}, {"seconds", 0.3}, {"times", 1}},
                        {{"type", "bandwidth"}, {"bytes_per_second", 1000000}}}}});
  auto start = std::chrono::steady_clock::now();
  HttpResponse r = GetRange("/data.bin", "0-0");
  double delayed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.status, 206);
  EXPECT_GE(delayed, 0.29);
  // The first ~100 KB pass as a burst; the remaining 200 KB take about 0.2 s.
  start = std::chrono::steady_clock::now();
  r = GetRange("/data.bin", "0-299999");
  double capped = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.body, data_.substr(0, 300000));
  EXPECT_GE(capped, 0.15);
}

TEST_F(OriginTest, S3EmulationAndPresignedUrls) {
  origin_->Configure({{"path", "/data.bin"},
                      {"emulate", "s3"},
                      {"require_signature", true},
                      {"s3_part_size", 262144}});
  HttpResponse r = HttpGet(origin_->Url("/data.bin"));
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("<Code>AccessDenied</Code>"), std::string::npos) << r.body;

  std::string url = origin_->Presign("/data.bin", 600);
  EXPECT_NE(url.find("X-Amz-Signature="), std::string::npos);
  r = HttpGet(url, {"Range: bytes=0-0"});
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.Header("Server"), "AmazonS3");
  EXPECT_TRUE(r.Header("x-amz-request-id").has_value());
  std::string part_digests;
  for (std::size_t i = 0; i < 4; ++i) {
    part_digests += HexToBytes(Md5Hex(std::string_view(data_).substr(i * 262144, 262144)));
  }
  EXPECT_EQ(r.Header("ETag"), Quoted(Md5Hex(part_digests) + "-4"));

  HttpRequest head;
  head.url = url;
  head.method = "HEAD";
  EXPECT_EQ(HttpFetch(head).status, 403);  // presigned GET URLs refuse HEAD

  r = HttpGet(origin_->Presign("/data.bin", 60, "s3", "20200101T000000Z"));
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("<Message>Request has expired</Message>"), std::string::npos) << r.body;

  std::string tampered = url;
  std::size_t sig = tampered.find("X-Amz-Signature=") + 16;
  tampered[sig] = tampered[sig] == '0' ? '1' : '0';
  r = HttpGet(tampered);
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("<Code>SignatureDoesNotMatch</Code>"), std::string::npos) << r.body;
}

TEST_F(OriginTest, GcsEmulationHashesAndExpiredToken) {
  origin_->Configure({{"path", "/hello.txt"}, {"emulate", "gcs"}});
  HttpResponse r = GetRange("/hello.txt", "0-0");
  EXPECT_EQ(r.status, 206);
  // crc32c("hello world") = 0xc99465aa; md5 = 5eb63bbbe01eeed093cb22bb8f5acdc3.
  EXPECT_EQ(r.Header("x-goog-hash"), "crc32c=yZRlqg==,md5=XrY7u+Ae7tCTyyK7j1rNww==");
  EXPECT_EQ(r.Header("x-goog-stored-content-length"), "11");
  EXPECT_TRUE(r.Header("x-goog-generation").has_value());

  EXPECT_EQ(HttpGet(origin_->Presign("/hello.txt", 600, "gcs")).body, "hello world");
  r = HttpGet(origin_->Presign("/hello.txt", 60, "gcs", "20200101T000000Z"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("<Code>ExpiredToken</Code>"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("Request signature expired at: 2020-01-01T00:01:00"), std::string::npos);
}

TEST_F(OriginTest, ContentMd5AndContentDisposition) {
  origin_->Configure(
      {{"path", "/hello.txt"}, {"content_md5", true}, {"content_disposition", "greeting.txt"}});
  HttpResponse r = GetRange("/hello.txt", "0-0");
  EXPECT_EQ(r.Header("Content-MD5"), "XrY7u+Ae7tCTyyK7j1rNww==");
  EXPECT_EQ(r.Header("Content-Disposition"), "attachment; filename=\"greeting.txt\"");
}

TEST_F(OriginTest, StatsShowKeepAliveReuse) {
  origin_->Reset();
  {
    HttpClient client;
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(client.Get(origin_->Url("/data.bin"), {"Range: bytes=0-9"}).status, 206);
    }
  }
  nlohmann::json stats = origin_->Stats();
  EXPECT_EQ(stats["paths"]["/data.bin"]["requests"], 5);
  EXPECT_EQ(stats["paths"]["/data.bin"]["connections"], 1);
  EXPECT_LE(stats["connections_accepted"].get<int>(), 2);  // the client (+ maybe control)
  int before = stats["connections_accepted"].get<int>();
  for (int i = 0; i < 3; ++i) EXPECT_EQ(GetRange("/data.bin", "0-9").status, 206);
  EXPECT_EQ(origin_->PathStats("/data.bin")["connections"], 4);
  EXPECT_EQ(origin_->Stats()["connections_accepted"].get<int>(), before + 3);
}

TEST_F(OriginTest, ParallelRangeRequests) {
  constexpr int kThreads = 8;
  constexpr std::size_t kPiece = kSize / (std::size_t{kThreads} * 4);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient client;
      for (int i = 0; i < 4; ++i) {
        std::size_t start = (static_cast<std::size_t>(t) * 4 + i) * kPiece;
        HttpResponse r = client.Get(
            origin_->Url("/data.bin"),
            {"Range: bytes=" + std::to_string(start) + "-" + std::to_string(start + kPiece - 1)});
        if (r.status == 206 && r.body == data_.substr(start, kPiece)) ++good;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(good, kThreads * 4);
  EXPECT_EQ(origin_->PathStats("/data.bin")["connections"], kThreads);
}

TEST_F(OriginTest, SurvivesClientsThatLeaveMidBody) {
  WriteRandomFile(dir_.Path("big.bin"), 32 << 20, 7);
  for (int i = 0; i < 3; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(origin_->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    std::string request = "GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    ASSERT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
    char buffer[4096];
    ASSERT_GT(read(fd, buffer, sizeof(buffer)), 0);
    close(fd);
  }
  EXPECT_EQ(GetRange("/data.bin", "0-9").body, data_.substr(0, 10));
}

TEST_F(OriginTest, RejectsInvalidConfigurations) {
  EXPECT_THROW(origin_->Configure({{"path", "/data.bin"}, {"faults", {{{"type", "bogus"}}}}}),
               std::runtime_error);
  EXPECT_THROW(origin_->Configure({{"path", "/data.bin"}, {"emulat", "s3"}}), std::runtime_error);
  EXPECT_THROW(origin_->Configure({{"path", "/data.bin"}, {"faults", {{{"type", "status"}}}}}),
               std::runtime_error);
}

TEST(NginxTest, ServesRanges) {
  TempDir dir;
  WriteRandomFile(dir.Path("data.bin"), kSize, kSeed);
  std::unique_ptr<Nginx> nginx = Nginx::Start(dir.path(), "64m");
  HttpResponse r = HttpGet(nginx->Url("/data.bin"), {"Range: bytes=10-19"});
  ASSERT_EQ(r.curl_code, CURLE_OK) << r.curl_error << nginx->ErrorLog();
  EXPECT_EQ(r.status, 206);
  EXPECT_EQ(r.Header("Content-Range"), "bytes 10-19/1048576");
  EXPECT_EQ(r.body, RandomBytes(kSize, kSeed).substr(10, 10));
  EXPECT_EQ(HttpGet(nginx->Url("/data.bin")).body.size(), kSize);
}

TEST(ProcessTest, RunCollectsOutputAndExitCode) {
  RunResult r =
      getmfs::testing::Run({"sh", "-c", "echo out; echo err >&2; cat; exit 3"}, {}, 10, "stdin");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\nstdin");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.timed_out);

  r = RunProgram({"sh", "-c", "echo $GETMFS_TEST_VAR"}, {"GETMFS_TEST_VAR=hello"});
  EXPECT_EQ(r.out, "hello\n");

  r = RunProgram({"sh", "-c", "kill -TERM $$"});
  EXPECT_EQ(r.exit_code, -SIGTERM);

  EXPECT_THROW(RunProgram({"/nonexistent/program"}), std::system_error);
}

TEST(ProcessTest, RunKillsTheProcessGroupOnTimeout) {
  auto start = std::chrono::steady_clock::now();
  RunResult r = RunProgram({"sh", "-c", "sleep 30 & sleep 30"}, {}, 0.3);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, -SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ProcessTest, ChildProcessLinesAndStop) {
  std::unique_ptr<ChildProcess> child =
      ChildProcess::Start({"sh", "-c", "echo first; echo second; echo oops >&2; exec sleep 30"});
  EXPECT_EQ(child->ReadLine(5), "first");
  EXPECT_EQ(child->ReadLine(5), "second");
  EXPECT_EQ(child->ReadLine(0.1), std::nullopt);
  EXPECT_TRUE(child->Running());
  EXPECT_EQ(child->Stop(5), -SIGTERM);
  EXPECT_FALSE(child->Running());
  EXPECT_EQ(child->Stderr(), "oops\n");
}

TEST(TempDirTest, RandomFilesAreDeterministicAndRemoved) {
  std::string path;
  {
    TempDir dir;
    path = dir.path();
    WriteRandomFile(dir.Path("sub/a.bin"), 1000003, 9);
    std::string bytes = ReadFile(dir.Path("sub/a.bin"));
    EXPECT_EQ(bytes, RandomBytes(1000003, 9));
    EXPECT_EQ(bytes.substr(0, 100), RandomBytes(100, 9));
    EXPECT_NE(RandomBytes(100, 10), RandomBytes(100, 9));
    EXPECT_EQ(FileMd5Hex(dir.Path("sub/a.bin")), Md5Hex(bytes));
    EXPECT_EQ(Md5Hex("hello world"), "5eb63bbbe01eeed093cb22bb8f5acdc3");
  }
  EXPECT_NE(access(path.c_str(), F_OK), 0);
}

}  // namespace
}  // namespace getmfs::testing
