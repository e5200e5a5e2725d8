// Redirects: followed (a few), to http and https only; a redirect loop ends in an error.
#include <getm/getm.hpp>
#include <gtest/gtest.h>

#include <string>

#include "support/origin.h"
#include "support/temp_dir.h"

namespace getmfs::testing {
namespace {

class RedirectTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("getmfs-redirect-");
    WriteRandomFile(dir_->Path("data.bin"), 1024 * 1024 + 5, 81);
    for (const char* name : {"moved.bin", "ftp.bin", "loop.bin"}) WriteFile(dir_->Path(name), "");
    origin_ = Origin::Start(dir_->path()).release();
  }
  static void TearDownTestSuite() {
    delete origin_;
    delete dir_;
  }
  void SetUp() override { origin_->Reset(); }

  // A path that always answers 302 to `location`.
  void Redirect(const std::string& path, const std::string& location) {
    origin_->Configure({{"path", path}, {"faults", {{{"type", "status"}, {"code", 302}, {"headers", {{"Location", location}}}}}}});
  }
  static std::string ReadAll(const std::string& url) {
    getm::Options o;
    o.concurrency = 4;
    o.chunk_size = 256 * 1024;
    o.timeout_seconds = 10;
    getm::Reader reader = getm::urlopen(url, o);
    std::string got;
    for (getm::Chunk c = reader.read(1 << 20); c.size() > 0; c = reader.read(1 << 20)) {
      got.append(reinterpret_cast<const char*>(c.data()), c.size());
    }
    return got;
  }

  static TempDir* dir_;
  static Origin* origin_;
};

TempDir* RedirectTest::dir_ = nullptr;
Origin* RedirectTest::origin_ = nullptr;

TEST_F(RedirectTest, ARedirectIsFollowed) {
  Redirect("/moved.bin", origin_->Url("/data.bin"));
  EXPECT_EQ(ReadAll(origin_->Url("/moved.bin?X-Amz-Signature=abc")), ReadFile(dir_->Path("data.bin")));
}

TEST_F(RedirectTest, ARedirectToAnotherSchemeIsRefused) {
  Redirect("/ftp.bin", "ftp://127.0.0.1:" + std::to_string(origin_->port()) + "/data.bin");
  try {
    ReadAll(origin_->Url("/ftp.bin"));
    FAIL() << "an ftp:// redirect was followed";
  } catch (const getm::Error& e) {
    EXPECT_NE(e.kind(), getm::ErrorKind::kIntegrity) << e.what();
  }
  EXPECT_EQ(origin_->PathStats("/data.bin").value("requests", 0), 0);
}

TEST_F(RedirectTest, ARedirectLoopEnds) {
  Redirect("/loop.bin", origin_->Url("/loop.bin"));
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(ReadAll(origin_->Url("/loop.bin")), getm::Error);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_LE(origin_->PathStats("/loop.bin").value("requests", 0), 6 * 10) << "redirects were followed without end";
}

}  // namespace
}  // namespace getmfs::testing
