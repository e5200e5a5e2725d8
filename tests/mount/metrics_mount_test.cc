// --metrics-addr on a real mount: /metrics answers during a read, its counters follow the
// read (bytes fetched, requests, cache, the object verified), other paths are 404, and a
// port already taken fails the mount with a message and leaves nothing mounted.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <regex>
#include <sstream>

#include "support/mount_fixture.h"

namespace getmfs::testing {
namespace {

// A listening socket on a free loopback port (kept open: the port stays taken).
struct Listener {
  Listener() {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd, 1);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ~Listener() { close(fd); }
  int fd = -1;
  int port = 0;
};

int FreePort() { return Listener().port; }

// The samples of a /metrics body: "name{labels}" -> value.
std::map<std::string, double> Samples(const std::string& body) {
  static const std::regex kSample(R"((getmfs_[a-z_]+(\{[^}]*\})?) ([-0-9.e+]+))");
  std::map<std::string, double> samples;
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, kSample)) samples[m[1]] = std::stod(m[3]);
  }
  return samples;
}

class MetricsMountTest : public MountTest {
 protected:
  RunResult Scrape(int port, const std::string& path = "/metrics") {
    return RunProgram({"curl", "-s", "-S", "-w", "\n%{http_code} %{content_type}", "http://127.0.0.1:" + std::to_string(port) + path}, {}, 10);
  }
};

TEST_F(MetricsMountTest, MetricsAnswerDuringAReadAndFollowIt) {
  int port = FreePort();
  origin_->Configure({{"path", "/s3.bin"}, {"emulate", "s3"}, {"faults", {{{"type", "bandwidth"}, {"bytes_per_second", 2 << 20}}}}});
  ASSERT_NO_FATAL_FAILURE(Mount(origin_->Url("/s3.bin") + "\n", {"--metrics-addr", std::to_string(port)}));
  auto reader = ChildProcess::Start({"md5sum", Mp("s3.bin")});
  bool seen_during_read = false;
  for (int i = 0; i < 100 && reader->Running(); ++i) {
    RunResult r = Scrape(port);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_NE(r.out.find("\n200 text/plain; version=0.0.4"), std::string::npos) << r.out;
    if (Samples(r.out)["getmfs_fetched_bytes_total"] > 0 && reader->Running()) seen_during_read = true;
    if (seen_during_read) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(seen_during_read) << "no bytes counted while the reader was reading";
  auto line = reader->ReadLine(60);
  ASSERT_TRUE(line.has_value()) << reader->Stderr();
  EXPECT_EQ(line->substr(0, 32), FileMd5Hex(Src("s3.bin")));
  auto after = Samples(Scrape(port).out);
  EXPECT_GE(after["getmfs_fetched_bytes_total"], 3.0 * kMiB) << "the file is 3 MiB";
  EXPECT_GE(after["getmfs_requests_total"], 1);
  EXPECT_GE(after["getmfs_cache_misses_total"], 1);
  EXPECT_EQ(after["getmfs_objects{state=\"verified\"}"], 1);
  EXPECT_EQ(after["getmfs_errors_total"], 0);
  EXPECT_GT(after["getmfs_cache_capacity_bytes"], 0);
  RunResult other = Scrape(port, "/");
  EXPECT_NE(other.out.find("\n404"), std::string::npos) << other.out;
}

TEST_F(MetricsMountTest, APortAlreadyTakenFailsTheMountAndLeavesNothing) {
  Listener taken;
  WriteFile(manifest_, origin_->Url("/tree/a.bin") + "\n");
  RunResult r = MountCommand({"--metrics-addr", "127.0.0.1:" + std::to_string(taken.port)}, 10);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(Contains(r.err, "cannot serve metrics on 127.0.0.1:" + std::to_string(taken.port))) << r.err;
  EXPECT_TRUE(Contains(r.err, "choose another --metrics-addr")) << r.err;
  EXPECT_FALSE(IsMounted(mp_));
  EXPECT_EQ(MountDaemonsLeft(), "") << "a daemon is still running";
}

}  // namespace
}  // namespace getmfs::testing
