// HTTPS: the server's certificate is verified by default (a self-signed one is refused,
// with a message that says so), and trusted when given with ca_bundle / --ca-bundle.
#include <getm/getm.hpp>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "support/origin.h"
#include "support/process.h"
#include "support/temp_dir.h"

namespace getmfs::testing {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("getmfs-tls-");
    WriteRandomFile(dir_->Path("data/obj.bin"), 2 * 1024 * 1024 + 3, 71);
    RunResult cert = RunProgram({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                                 "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                                 dir_->Path("key.pem"), "-out", dir_->Path("cert.pem")},
                                {}, 60);
    ASSERT_EQ(cert.exit_code, 0) << cert.err;
    origin_ = Origin::Start(dir_->Path("data"), {"--tls-cert", dir_->Path("cert.pem"), "--tls-key", dir_->Path("key.pem")})
                  .release();
  }
  static void TearDownTestSuite() {
    delete origin_;
    delete dir_;
  }
  static std::string Url() { return "https://127.0.0.1:" + std::to_string(origin_->port()) + "/obj.bin"; }

  static TempDir* dir_;
  static Origin* origin_;
};

TempDir* TlsTest::dir_ = nullptr;
Origin* TlsTest::origin_ = nullptr;

TEST_F(TlsTest, AnUntrustedCertificateIsRefused) {
  for (auto concurrency : {std::optional<int>(), std::optional<int>(4)}) {
    getm::Options o;
    o.concurrency = concurrency;
    o.timeout_seconds = 10;
    try {
      getm::Reader reader = getm::urlopen(Url(), o);
      FAIL() << "a self-signed certificate was accepted";
    } catch (const getm::Error& e) {
      EXPECT_NE(std::string(e.what()).find("certificate"), std::string::npos) << e.what();
    }
  }
}

TEST_F(TlsTest, ACaBundleMakesItTrusted) {
  for (auto concurrency : {std::optional<int>(), std::optional<int>(1), std::optional<int>(4)}) {
    getm::Options o;
    o.concurrency = concurrency;
    o.timeout_seconds = 10;
    o.chunk_size = 512 * 1024;
    o.ca_bundle = dir_->Path("cert.pem");
    getm::Reader reader = getm::urlopen(Url(), o);
    std::string got;
    for (getm::Chunk c = reader.read(1 << 20); c.size() > 0; c = reader.read(1 << 20)) {
      got.append(reinterpret_cast<const char*>(c.data()), c.size());
    }
    EXPECT_EQ(got, ReadFile(dir_->Path("data/obj.bin")));
  }
}

// getmfs get on the command line: refused (a network error, exit 7) without --ca-bundle,
// verified with it; a bundle that cannot be read is a bad command line (exit 2).
TEST_F(TlsTest, GetTakesACaBundle) {
  TempDir out("getmfs-tls-get-");
  const std::vector<std::string> env = {std::string("GETMFS_WORKER=") + GETMFS_BINARY};
  for (std::string concurrency : {"none", "1", "4"}) {
    SCOPED_TRACE("concurrency " + concurrency);
    std::vector<std::string> get = {GETMFS_BINARY, "get", Url(), "-O", out.Path("obj.bin"), "--timeout", "20",
                                    "--concurrency", concurrency};
    RunResult refused = RunProgram(get, env, 60);
    EXPECT_EQ(refused.exit_code, 7) << refused.err;
    EXPECT_NE(refused.err.find("certificate"), std::string::npos) << refused.err;
    EXPECT_FALSE(std::filesystem::exists(out.Path("obj.bin")));
    get.insert(get.end(), {"--ca-bundle", dir_->Path("cert.pem")});
    RunResult trusted = RunProgram(get, env, 60);
    EXPECT_EQ(trusted.exit_code, 0) << trusted.err;
    EXPECT_EQ(ReadFile(out.Path("obj.bin")), ReadFile(dir_->Path("data/obj.bin")));
    std::remove(out.Path("obj.bin").c_str());
  }
  RunResult missing = RunProgram({GETMFS_BINARY, "get", Url(), "-O", out.Path("obj.bin"), "--ca-bundle",
                                  dir_->Path("no-such.pem")}, env, 60);
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
  EXPECT_NE(missing.err.find("--ca-bundle"), std::string::npos) << missing.err;
  EXPECT_NE(missing.err.find("No such file"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace getmfs::testing
