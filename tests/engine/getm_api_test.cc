// The library API (getm::urlopen, iter_content) against the test origin: every concurrency
// mode, checksum sources, and each failure path a reader can meet.
#include <getm/getm.hpp>

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "support/origin.h"
#include "support/temp_dir.h"

namespace getmfs::testing {
namespace {

constexpr std::size_t kMiB = 1 << 20;

class GetmApiTest : public ::testing::TestWithParam<std::optional<int>> {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("getm-api-");
    WriteRandomFile(dir_->Path("data.bin"), 5 * kMiB + 12345, 1);
    WriteRandomFile(dir_->Path("small.bin"), 1000, 2);
    WriteFile(dir_->Path("empty.bin"), "");
    WriteRandomFile(dir_->Path("multi.bin"), 11 * kMiB + 7, 3);
    origin_ = Origin::Start(dir_->path()).release();
  }
  static void TearDownTestSuite() {
    delete origin_;
    delete dir_;
  }
  void SetUp() override { origin_->Reset(); }

  getm::Options Opts(std::size_t chunk = kMiB) const {
    getm::Options o;
    o.chunk_size = chunk;
    o.concurrency = GetParam();
    o.timeout_seconds = 20;
    return o;
  }

  // Reads the whole object through read(); returns the bytes.
  static std::string ReadAll(getm::Reader& reader, std::size_t n = 256 * 1024) {
    std::string out;
    const std::uint64_t start = reader.tell();
    for (;;) {
      getm::Chunk c = reader.read(n);
      if (c.size() == 0) break;
      EXPECT_LE(c.size(), n);
      EXPECT_EQ(c.offset(), start + out.size());
      out.append(reinterpret_cast<const char*>(c.data()), c.size());
    }
    return out;
  }

  static getm::ErrorKind KindOfReading(const std::string& url, const getm::Options& options) {
    try {
      getm::Reader reader = getm::urlopen(url, options);
      ReadAll(reader);
    } catch (const getm::Error& e) {
      return e.kind();
    }
    ADD_FAILURE() << "no error";
    return getm::ErrorKind::kInternal;
  }

  static TempDir* dir_;
  static Origin* origin_;
};

TempDir* GetmApiTest::dir_ = nullptr;
Origin* GetmApiTest::origin_ = nullptr;

TEST_P(GetmApiTest, ReadsTheExactBytesAndVerifiesS3Etag) {
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "s3"}});
  getm::Reader reader = getm::urlopen(origin_->Url("/data.bin"), Opts());
  EXPECT_EQ(reader.info().size, 5 * kMiB + 12345);
  EXPECT_EQ(reader.info().checksum_algorithm, "s3_etag");
  EXPECT_EQ(ReadAll(reader), ReadFile(dir_->Path("data.bin")));
  EXPECT_TRUE(reader.verified());
  // Reading past the end keeps returning the end.
  EXPECT_EQ(reader.read(10).size(), 0u);
}

TEST_P(GetmApiTest, IterContentYieldsChunksInOrderAndVerifiesGcsCrc32c) {
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "gcs"}});
  std::string out;
  auto range = getm::iter_content(origin_->Url("/data.bin"), Opts(kMiB));
  for (getm::Chunk& part : range) {
    EXPECT_LE(part.size(), kMiB);
    out.append(reinterpret_cast<const char*>(part.data()), part.size());
  }
  EXPECT_EQ(out, ReadFile(dir_->Path("data.bin")));
  EXPECT_EQ(range.reader().info().checksum_algorithm, "gs_crc32c");
  EXPECT_TRUE(range.reader().verified());
}

TEST_P(GetmApiTest, VerifiesMultipartEtagWithGuessedPartSize) {
  origin_->Configure({{"path", "/multi.bin"}, {"emulate", "s3"}, {"s3_part_size", 5 * kMiB}});
  getm::Reader reader = getm::urlopen(origin_->Url("/multi.bin"), Opts(2 * kMiB));
  EXPECT_NE(reader.info().checksum.find("-3"), std::string::npos) << reader.info().checksum;
  EXPECT_EQ(ReadAll(reader), ReadFile(dir_->Path("multi.bin")));
  EXPECT_TRUE(reader.verified());
}

TEST_P(GetmApiTest, ContentMd5AndEmptyAndSmallObjects) {
  origin_->Configure({{"path", "/small.bin"}, {"content_md5", true}});
  getm::Reader small = getm::urlopen(origin_->Url("/small.bin"), Opts());
  EXPECT_EQ(small.info().checksum_algorithm, "md5");
  EXPECT_EQ(ReadAll(small), ReadFile(dir_->Path("small.bin")));
  EXPECT_TRUE(small.verified());
  origin_->Configure({{"path", "/empty.bin"}, {"emulate", "gcs"}});
  getm::Reader empty = getm::urlopen(origin_->Url("/empty.bin"), Opts());
  EXPECT_EQ(empty.info().size, 0u);
  EXPECT_EQ(ReadAll(empty), "");
  EXPECT_TRUE(empty.verified());
}

TEST_P(GetmApiTest, PlainServerIsReadButUnverified) {
  getm::Reader reader = getm::urlopen(origin_->Url("/data.bin"), Opts());
  EXPECT_EQ(reader.info().checksum_algorithm, "");   // a plain ETag is no checksum
  EXPECT_EQ(ReadAll(reader), ReadFile(dir_->Path("data.bin")));
  EXPECT_FALSE(reader.verified());
}

TEST_P(GetmApiTest, UserChecksumOverridesAndMismatchThrowsAtTheEnd) {
  getm::Options o = Opts();
  o.checksum = Md5Hex(ReadFile(dir_->Path("data.bin")));
  o.checksum_algorithm = "md5";
  getm::Reader good = getm::urlopen(origin_->Url("/data.bin"), o);
  EXPECT_EQ(ReadAll(good), ReadFile(dir_->Path("data.bin")));
  EXPECT_TRUE(good.verified());

  o.checksum = std::string(32, '0');
  getm::Reader bad = getm::urlopen(origin_->Url("/data.bin"), o);
  std::size_t got = 0;
  try {
    for (;;) {
      getm::Chunk c = bad.read(kMiB);
      ASSERT_NE(c.size(), 0u) << "a mismatch must never end cleanly";
      got += c.size();
    }
  } catch (const getm::Error& e) {
    EXPECT_EQ(e.kind(), getm::ErrorKind::kIntegrity);
    EXPECT_NE(std::string(e.what()).find("md5"), std::string::npos) << e.what();
  }
  EXPECT_EQ(got, 5 * kMiB + 12345);
}

TEST_P(GetmApiTest, CorruptedBodyFailsIntegrity) {
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "s3"},
                      {"faults", {{{"type", "corrupt"}, {"offset", 3 * kMiB + 5}}}}});
  EXPECT_EQ(KindOfReading(origin_->Url("/data.bin"), Opts()), getm::ErrorKind::kIntegrity);
}

TEST_P(GetmApiTest, TransientErrorsAreRetried) {
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "gcs"},
                      {"faults", {{{"type", "status"}, {"code", 503}, {"times", 2}, {"retry_after", 0}},
                                  {{"type", "reset"}, {"after_bytes", 1000}, {"after", 2}, {"times", 1}},
                                  {{"type", "short"}, {"after_bytes", 5000}, {"times", 1}},
                                  {{"type", "status"}, {"code", 429}, {"after", 4}, {"times", 1}}}}});
  getm::Reader reader = getm::urlopen(origin_->Url("/data.bin"), Opts());
  EXPECT_EQ(ReadAll(reader), ReadFile(dir_->Path("data.bin")));
  EXPECT_TRUE(reader.verified());
  auto stats = origin_->PathStats("/data.bin");
  EXPECT_GE(stats["statuses"].value("503", 0), 2);
}

TEST_P(GetmApiTest, ExpiredForbiddenAndNotFoundAreTold) {
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "s3"}, {"require_signature", true}});
  std::string fresh = origin_->Presign("/data.bin", 600);
  getm::Reader ok = getm::urlopen(fresh, Opts());
  EXPECT_EQ(ReadAll(ok), ReadFile(dir_->Path("data.bin")));
  std::string expired = origin_->Presign("/data.bin", 60, "s3", "20200101T000000Z");
  try {
    getm::urlopen(expired, Opts());
    ADD_FAILURE() << "expired URL opened";
  } catch (const getm::Error& e) {
    EXPECT_EQ(e.kind(), getm::ErrorKind::kExpired);
    std::string what = e.what();
    EXPECT_NE(what.find("expired"), std::string::npos);
    EXPECT_EQ(what.find("X-Amz-Signature"), std::string::npos) << "query string leaked: " << what;
  }
  std::string tampered = fresh.substr(0, fresh.size() - 4) + "0000";
  EXPECT_EQ(KindOfReading(tampered, Opts()), getm::ErrorKind::kForbidden);
  EXPECT_EQ(KindOfReading(origin_->Url("/missing.bin"), Opts()), getm::ErrorKind::kNotFound);
}

TEST_P(GetmApiTest, ObjectChangingAfterTheProbeIsDetected) {
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "s3"},
                      {"faults", {{{"type", "change"}, {"after", 1}}}}});
  EXPECT_EQ(KindOfReading(origin_->Url("/data.bin"), Opts()), getm::ErrorKind::kChanged);
  EXPECT_GE(origin_->PathStats("/data.bin").value("if_match", 0), 1);
}

TEST_P(GetmApiTest, VanishedObjectIsNotFound) {
  origin_->Configure({{"path", "/data.bin"}, {"faults", {{{"type", "vanish"}, {"after", 1}}}}});
  EXPECT_EQ(KindOfReading(origin_->Url("/data.bin"), Opts()), getm::ErrorKind::kNotFound);
}

TEST_P(GetmApiTest, SlowServerTimesOut) {
  origin_->Configure({{"path", "/data.bin"}, {"faults", {{{"type", "delay"}, {"seconds", 8}, {"after", 1}}}}});
  getm::Options o = Opts();
  o.timeout_seconds = 1.5;
  EXPECT_EQ(KindOfReading(origin_->Url("/data.bin"), o), getm::ErrorKind::kTimeout);
}

TEST_P(GetmApiTest, WrongContentRangeIsNeverUsed) {
  // The first data response carries the wrong bytes with a lying Content-Range: the reader
  // must retry, never deliver them.
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "s3"},
                      {"faults", {{{"type", "wrong_range"}, {"shift", 100}, {"after", 1}, {"times", 1}}}}});
  getm::Reader reader = getm::urlopen(origin_->Url("/data.bin"), Opts());
  EXPECT_EQ(ReadAll(reader), ReadFile(dir_->Path("data.bin")));
  EXPECT_TRUE(reader.verified());
}

TEST_P(GetmApiTest, ServerIgnoringRangesDownloadsTheObjectOnce) {
  origin_->Configure({{"path", "/multi.bin"}, {"emulate", "s3"}, {"faults", {{{"type", "ignore_range"}}}}});
  getm::Reader reader = getm::urlopen(origin_->Url("/multi.bin"), Opts());
  EXPECT_EQ(ReadAll(reader), ReadFile(dir_->Path("multi.bin")));
  EXPECT_TRUE(reader.verified());
  reader.close();
  auto stats = origin_->PathStats("/multi.bin");
  // The probe was cut off after its headers; the object went over the wire once (plus what
  // the server had pushed into socket buffers before the probe hung up).
  EXPECT_EQ(stats.value("requests", 0), 2) << stats.dump();
  EXPECT_LT(stats.value("body_bytes", 0), (11 * kMiB + 7) * 3 / 2) << stats.dump();
}

TEST_P(GetmApiTest, WiderLabelledRangesGiveTheRightBytes) {
  // Some S3-compatible servers answer a range with 206 and a truthful label of more: the
  // whole object, or from the asked start to its end. Only the asked bytes are used.
  for (const char* to : {"object", "end"}) {
    SCOPED_TRACE(to);
    origin_->Reset();
    origin_->Configure({{"path", "/multi.bin"}, {"emulate", "s3"}, {"faults", {{{"type", "wide_range"}, {"to", to}}}}});
    getm::Reader reader = getm::urlopen(origin_->Url("/multi.bin"), Opts());
    EXPECT_EQ(reader.info().size, 11 * kMiB + 7);
    EXPECT_EQ(ReadAll(reader), ReadFile(dir_->Path("multi.bin")));
    EXPECT_TRUE(reader.verified());
  }
}

TEST_P(GetmApiTest, ChunksStayValidUntilReleased) {
  origin_->Configure({{"path", "/data.bin"}, {"emulate", "s3"}});
  const std::string want = ReadFile(dir_->Path("data.bin"));
  getm::Reader reader = getm::urlopen(origin_->Url("/data.bin"), Opts());
  std::vector<getm::Chunk> held;
  for (int i = 0; i < 3; ++i) held.push_back(reader.read(kMiB));
  std::string rest = ReadAll(reader);
  std::string got;
  for (auto& c : held) {
    got.append(reinterpret_cast<const char*>(c.data()), c.size());
    c.release();
    EXPECT_EQ(c.size(), 0u);
  }
  EXPECT_EQ(got + rest, want);
}

TEST_P(GetmApiTest, BadInputIsRejectedBeforeAnyRequest) {
  getm::Options o = Opts();
  EXPECT_EQ(KindOfReading("ftp://example.com/x", o), getm::ErrorKind::kBadInput);
  o.checksum = "nothex";
  o.checksum_algorithm = "md5";
  EXPECT_EQ(KindOfReading(origin_->Url("/data.bin"), o), getm::ErrorKind::kBadInput);
  EXPECT_EQ(origin_->PathStats("/data.bin").value("requests", 0), 0);
}

INSTANTIATE_TEST_SUITE_P(Modes, GetmApiTest, ::testing::Values(std::nullopt, 1, 4),
                         [](const ::testing::TestParamInfo<std::optional<int>>& p) {
                           return p.param ? "Concurrency" + std::to_string(*p.param) : std::string("NoWorkers");
                         });

// Worker processes of this test process.
std::vector<pid_t> WorkerPids() {
  std::vector<pid_t> pids;
  DIR* proc = opendir("/proc");
  while (dirent* e = readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    int ppid = 0;
    char state;
    if (std::sscanf(line.c_str() + close + 2, "%c %d", &state, &ppid) != 2 || ppid != getpid()) continue;
    std::ifstream cmd("/proc/" + std::string(e->d_name) + "/cmdline");
    std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    if (args.find("__worker__") != std::string::npos) pids.push_back(pid);
  }
  closedir(proc);
  return pids;
}

TEST(GetmWorkers, KilledWorkerLosesNothing) {
  TempDir dir("getm-kill-");
  WriteRandomFile(dir.Path("obj.bin"), 24 * kMiB, 9);
  auto origin = Origin::Start(dir.path());
  origin->Configure({{"path", "/obj.bin"}, {"emulate", "s3"},
                     {"faults", {{{"type", "bandwidth"}, {"bytes_per_second", 8 * kMiB}}}}});
  getm::Options o;
  o.chunk_size = kMiB;
  o.concurrency = 4;
  o.workers = 2;
  getm::Reader reader = getm::urlopen(origin->Url("/obj.bin"), o);
  std::string got;
  getm::Chunk first = reader.read(kMiB);
  got.append(reinterpret_cast<const char*>(first.data()), first.size());
  first.release();
  auto pids = WorkerPids();
  ASSERT_EQ(pids.size(), 2u);
  ASSERT_EQ(kill(pids[0], SIGKILL), 0);
  for (;;) {
    getm::Chunk c = reader.read(kMiB);
    if (c.size() == 0) break;
    got.append(reinterpret_cast<const char*>(c.data()), c.size());
  }
  EXPECT_EQ(got, ReadFile(dir.Path("obj.bin")));
  EXPECT_TRUE(reader.verified());
  EXPECT_EQ(WorkerPids().size(), 2u) << "the dead worker was replaced";
}

TEST(GetmWorkers, KeepAliveReusesConnections) {
  TempDir dir("getm-keepalive-");
  WriteRandomFile(dir.Path("obj.bin"), 16 * kMiB, 4);
  auto origin = Origin::Start(dir.path());
  getm::Options o;
  o.chunk_size = 512 * 1024;
  o.concurrency = 2;
  o.workers = 1;
  getm::Reader reader = getm::urlopen(origin->Url("/obj.bin"), o);
  while (reader.read().size() > 0) {
  }
  auto stats = origin->PathStats("/obj.bin");
  EXPECT_EQ(stats.value("requests", 0), 33);   // the probe + 32 ranges
  EXPECT_LE(stats.value("connections", 0), 4) << stats.dump();
}

TEST(GetmWorkers, MissingWorkerExecutableIsAClearError) {
  TempDir dir("getm-noworker-");
  ASSERT_EQ(setenv("GETMFS_WORKER", "/nonexistent/getmfs", 1), 0);
  try {
    getm::urlopen("http://127.0.0.1:9/x", {});
    ADD_FAILURE() << "opened without a worker";
  } catch (const getm::Error& e) {
    EXPECT_EQ(e.kind(), getm::ErrorKind::kInternal);
    EXPECT_NE(std::string(e.what()).find("GETMFS_WORKER"), std::string::npos) << e.what();
  }
  unsetenv("GETMFS_WORKER");
}

}  // namespace
}  // namespace getmfs::testing
