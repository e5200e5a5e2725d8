// HTTPS: the server's certificate is verified by default (a self-signed one is refused,
// with a message that says so), and trusted when given with ca_bundle / --ca-bundle.
#include <getm/getm.hpp>
#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace getmfs::testing
